/**
 * Limits across real node processes (limitWorkerMain.ts runs limitWorkers.ts through the product's
 * entry point, NodeProcess.run), on a private redis-server. Each job records through Redis with
 * Redis's own clock, so the checks read one timeline for all the processes:
 *
 * - Rate: 3 nodes, 50 starts per second on `RateLimited`, 500 jobs: no one-second window holds
 *   more than 50 starts; none failed or was retried (retry and dead sets empty, none left in
 *   `schedule`); `Free` jobs on the same queue all end before the limited jobs are half done.
 * - Per key: 10 customers, 5 starts per second each: no one-second window of a customer holds more.
 *
 * A start is checked twice: as the limit recorded it (the job reads its own entry in the limit's
 * window: Redis's clock when it was admitted), where no window of one second may hold more; and as
 * the job's own first step recorded it, a few milliseconds later by a lag that varies with the
 * load (a burst admitted at once records over tens of milliseconds), where no window of 0.9 s may.
 * - Concurrency: limit 4 on `Concurrent`; a node holding 2 slots is killed with SIGKILL; the 3
 *   nodes never run more than 4 at once; the dead node's slots are free once it is recovered
 *   (fence: it leaves the registry, which the recovery does after freeing them); all jobs finish.
 */

import { resolve } from "node:path"
import { describe, expect, it } from "vitest"
import { Concurrent, Free, PerKey, RateLimited } from "./limitWorkers.ts"
import { enqueueMany, privateRedis, waitUntil, withWorkers } from "./support.ts"

const main = resolve(import.meta.dirname, "limitWorkerMain.ts")
const local = privateRedis()

/** The most starts (µs) that one window of `perMicros` holds. */
const busiestWindow = (starts: ReadonlyArray<number>, perMicros: number): number => {
  const sorted = [...starts].sort((a, b) => a - b)
  let most = 0
  let from = 0
  for (let to = 0; to < sorted.length; to++) {
    while (sorted[to]! - sorted[from]! >= perMicros) from++
    most = Math.max(most, to - from + 1)
  }
  return most
}

const scores = async (key: string): Promise<Array<number>> => {
  const flat: Array<string> = await local.redis.zrange(key, "0", "-1", "WITHSCORES")
  return flat.filter((_, i) => i % 2 === 1).map(Number)
}

const startNodes = async (workers: ReturnType<typeof withWorkers>, count: number, concurrency: number) => {
  const nodes = Array.from({ length: count }, () =>
    workers.spawn({ url: local.server.url, queues: `limits:${concurrency}`, main }),
  )
  return Promise.all(nodes.map((node) => node.ready()))
}

/** Nothing failed or was retried: the retry and dead sets are empty. */
const nothingFailed = async () => {
  expect(await local.redis.zcard("retry")).toBe(0)
  expect(await local.redis.zcard("dead")).toBe(0)
}

describe("limits across 3 node processes", () => {
  it("rate: 50 per second over 500 jobs, no window holds more, none failed, the free worker runs at full speed", async () => {
    const workers = withWorkers()
    await local.redis.flushall()
    await startNodes(workers, 3, 20)
    await enqueueMany(
      local.server.url,
      RateLimited,
      Array.from({ length: 500 }, (_, n) => [n] as const),
    )
    await enqueueMany(
      local.server.url,
      Free,
      Array.from({ length: 300 }, (_, n) => [n] as const),
    )
    await waitUntil(
      "500 limited jobs started",
      async () => (await local.redis.zcard("limited:starts")) >= 500,
      60_000,
      100,
    )
    await waitUntil(
      "the queue and in-progress are empty",
      async () => {
        const inProgress = await local.redis.keys("inprogress:*")
        const held = await Promise.all(inProgress.map((key) => local.redis.hlen(key)))
        return (await local.redis.llen("queue:limits")) === 0 && held.every((n) => n === 0)
      },
      10_000,
    )
    const starts = await scores("limited:starts")
    expect(starts.length).toBe(500)
    // The limit's own record of each start (Redis's clock, ms): no one-second window holds more.
    const admitted = await scores("limited:admitted")
    expect(admitted.length, "every run found its start in the window").toBe(500)
    expect(busiestWindow(admitted, 1_000)).toBeLessThanOrEqual(50)
    // The jobs' own clock readings, taken a few ms later in each job (the lag varies with load):
    // the 51st start after any start is never earlier than the window less that lag.
    expect(busiestWindow(starts, 900_000)).toBeLessThanOrEqual(50)
    // 500 at 50 a second: about ten seconds, not a burst.
    const sorted = [...starts].sort((a, b) => a - b)
    expect(sorted.at(-1)! - sorted[0]!).toBeGreaterThan(8_000_000)
    const ends = await scores("free:ends")
    expect(ends.length).toBe(300)
    expect(Math.max(...ends), "the free jobs end before half the limited ones started").toBeLessThan(sorted[250]!)
    await nothingFailed()
    expect(await local.redis.zcard("schedule")).toBe(0)
  }, 90_000)

  it("rate per key: 10 customers at 5 per second each, each holds its own budget", async () => {
    const workers = withWorkers()
    await local.redis.flushall()
    await startNodes(workers, 3, 20)
    const customers = Array.from({ length: 10 }, (_, n) => `customer-${n}`)
    await enqueueMany(
      local.server.url,
      PerKey,
      customers.flatMap((customer) => Array.from({ length: 15 }, (_, n) => [customer, n] as const)),
    )
    await waitUntil(
      "every customer's 15 jobs started",
      async () => {
        const counts = await Promise.all(customers.map((customer) => local.redis.zcard(`perkey:${customer}`)))
        return counts.every((count) => count >= 15)
      },
      60_000,
      100,
    )
    for (const customer of customers) {
      const admitted = await scores(`perkey-admitted:${customer}`)
      expect(admitted.length, customer).toBe(15)
      expect(busiestWindow(admitted, 1_000), customer).toBeLessThanOrEqual(5)
      const starts = await scores(`perkey:${customer}`)
      expect(busiestWindow(starts, 900_000), customer).toBeLessThanOrEqual(5)
    }
    // The budgets are separate: all 150 within about 3 windows, not 30 (one budget of 5 a second).
    const all = (await Promise.all(customers.map((customer) => scores(`perkey:${customer}`)))).flat()
    expect(Math.max(...all) - Math.min(...all)).toBeLessThan(10_000_000)
    await nothingFailed()
  }, 90_000)

  it("concurrency: limit 4 over 200 jobs of 50 ms; a killed node's 2 slots are freed by its recovery; all finish", async () => {
    const workers = withWorkers()
    await local.redis.flushall()
    // The node to kill takes the 2 holders (60 s on their first run) and serves nothing else.
    const doomed = workers.spawn({ url: local.server.url, queues: "limits:2", main })
    const doomedId = await doomed.ready()
    await enqueueMany(local.server.url, Concurrent, [
      [0, 50, true],
      [1, 50, true],
    ])
    await waitUntil(
      "the doomed node holds 2 slots",
      async () => {
        const holders = await local.redis.hvals("verk:limit:concurrency:fault-conc")
        return holders.length === 2 && holders.every((node) => node === doomedId)
      },
      10_000,
    )
    await startNodes(workers, 2, 5)
    await enqueueMany(
      local.server.url,
      Concurrent,
      Array.from({ length: 198 }, (_, n) => [n + 2, 50, false] as const),
    )
    await waitUntil(
      "some jobs done beside the holders",
      async () => (await local.redis.scard("conc:done")) >= 10,
      30_000,
    )
    // kill -9 while it holds its 2 slots; from now on its runs no longer count as running.
    doomed.kill("SIGKILL")
    expect((await doomed.exited).signal).toBe("SIGKILL")
    await local.redis.sadd("conc:dead-pids", String(doomed.pid))
    expect(await local.redis.hvals("verk:limit:concurrency:fault-conc")).toEqual(
      expect.arrayContaining([doomedId, doomedId]),
    )
    // Fence: the recovery forgets the node (verk_nodes) after it has freed its slots.
    await waitUntil(
      "the dead node is recovered",
      async () => !(await local.redis.smembers("verk_nodes")).includes(doomedId),
      20_000,
    )
    const holders = await local.redis.hvals("verk:limit:concurrency:fault-conc")
    expect(holders.filter((node) => node === doomedId)).toEqual([])
    expect(await local.redis.scard(`verk:node:${doomedId}:limits`)).toBe(0)
    await waitUntil("all 200 jobs done", async () => (await local.redis.scard("conc:done")) >= 200, 60_000, 100)
    expect(Number(await local.redis.get("conc:max"))).toBeLessThanOrEqual(4)
    expect(Number(await local.redis.get("conc:max"))).toBe(4)
    await nothingFailed()
    expect(await local.redis.hlen("verk:limit:concurrency:fault-conc")).toBe(0)
  }, 120_000)
})
