/**
 * kill -9 of a worker process draining large jobs (taken whole: see fetch.lua): their payloads
 * sit in batch lists, not in the in-progress entries. A second node finds the dead node, puts the
 * jobs of its lists back and finishes the queue: nothing is lost, only jobs in flight at the kill
 * run twice, and no batch list is left behind.
 */
import { describe, expect, it } from "vitest"
import { duplicates, enqueueMany, parse, privateRedis, waitUntil, withWorkers } from "./support.ts"
import { RecordLarge } from "./workers.ts"

const Concurrency = 10
const Jobs = 2_000
const ArgBytes = 4_000

const local = privateRedis()

/** The dead node's in-progress jobs by jid: entries, with the payloads of its batch lists. */
const inFlightOf = async (node: string): Promise<ReadonlyArray<string>> => {
  const entries = await local.redis.hgetall(`inprogress:default:${node}`)
  const payloads = new Map(Object.entries(entries))
  for (const list of await local.redis.hkeys(`verk:batches:default:${node}`)) {
    const first = Number(list.slice(list.lastIndexOf(":") + 1))
    const jobs = await local.redis.lrange(list, 0, -1)
    jobs.forEach((raw, index) => {
      const token = String(first + jobs.length - 1 - index)
      if (payloads.has(token)) payloads.set(token, raw)
    })
  }
  return [...payloads.values()].map((raw) => parse(raw).jid)
}

describe("kill -9 of a worker process draining large jobs", () => {
  it("loses no job taken whole, runs only the in-flight ones twice, and leaves no batch list", async () => {
    const workers = withWorkers()
    await local.redis.flushall()
    const jids = await enqueueMany(
      local.server.url,
      RecordLarge,
      Array.from({ length: Jobs }, (_, n) => [n, "x".repeat(ArgBytes)] as const),
    )
    const first = workers.spawn({ url: local.server.url, queues: `default:${Concurrency}` })
    const firstId = await first.ready()
    await waitUntil(
      "jobs taken whole and some in flight",
      async () =>
        (await local.redis.scard("done")) >= 500 && (await local.redis.hlen(`verk:batches:default:${firstId}`)) > 0,
      30_000,
      2,
    )
    first.kill("SIGKILL")
    expect((await first.exited).signal).toBe("SIGKILL")
    const inFlight = await inFlightOf(firstId)
    expect(inFlight.length, "jobs in flight at the kill").toBeGreaterThan(0)
    expect(inFlight.every((jid) => typeof jid === "string" && jid.length > 0)).toBe(true)

    const second = workers.spawn({ url: local.server.url, queues: `default:${Concurrency}` })
    await second.ready()
    await waitUntil("every job done", async () => (await local.redis.scard("done")) === Jobs, 60_000, 10)
    expect(second.output()).toContain(`Recovered dead node ${firstId}`)

    const done = new Set(await local.redis.smembers("done"))
    expect(jids.filter((jid) => !done.has(jid))).toEqual([])
    const inFlightSet = new Set(inFlight)
    const twice = await duplicates(local.redis)
    expect(
      twice.filter(([jid]) => !inFlightSet.has(jid)),
      "only jobs in flight at the kill ran twice",
    ).toEqual([])
    second.kill("SIGTERM")
    expect((await second.exited).code).toBe(0)
    // Every batch list went with its last job (or with the recovery of the dead node).
    expect(await local.redis.keys("verk:batch*")).toEqual([])
    expect(await local.redis.keys("inprogress:*")).toEqual([])
  }, 120_000)
})
