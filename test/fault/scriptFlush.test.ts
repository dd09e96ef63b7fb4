/**
 * SCRIPT FLUSH mid-run: every Lua script the worker loaded is gone at once. Each call answers
 * NOSCRIPT, the script is loaded again and called again; processing goes on and every job runs
 * exactly once (a NOSCRIPT reply means the script did not run, so retrying it duplicates nothing).
 */
import { describe, expect, it } from "vitest"
import { duplicates, enqueueMany, privateRedis, waitUntil, withWorkers } from "./support.ts"
import { Record } from "./workers.ts"

const Jobs = 3_000
const FlushAt = [500, 1_200, 2_000]

const local = privateRedis()

describe("SCRIPT FLUSH mid-run", () => {
  it("processing goes on, every job runs once, heartbeat and acks keep working", async () => {
    const workers = withWorkers()
    const jids = await enqueueMany(
      local.server.url,
      Record,
      Array.from({ length: Jobs }, (_, n) => [n] as const),
    )
    const worker = workers.spawn({ url: local.server.url, queues: "default:10" })
    const nodeId = await worker.ready()

    for (const at of FlushAt) {
      await waitUntil(`${at} jobs done`, async () => (await local.redis.scard("done")) >= at, 30_000, 2)
      expect(await local.redis.script("FLUSH")).toBe("OK")
    }

    await waitUntil("every job done", async () => (await local.redis.scard("done")) === Jobs, 30_000, 20)
    await waitUntil(
      "the in-progress list to empty",
      async () => (await local.redis.hlen(`inprogress:default:${nodeId}`)) === 0,
      5_000,
    )
    const done = new Set(await local.redis.smembers("done"))
    const twice = await duplicates(local.redis)
    console.log(
      `SCRIPT FLUSH ×${FlushAt.length}: lost ${jids.filter((jid) => !done.has(jid)).length}, duplicates ${twice.length}`,
    )
    expect(jids.filter((jid) => !done.has(jid))).toEqual([])
    expect(twice).toEqual([])
    expect(await local.redis.llen("queue:default")).toBe(0)
    expect(await local.redis.zcard("retry")).toBe(0)
    expect(await local.redis.zcard("dead")).toBe(0)

    // The heartbeat script was reloaded too: the node stays alive after another flush.
    await local.redis.script("FLUSH")
    const beat = Number(await local.redis.get(`verk:node:${nodeId}`))
    await waitUntil(
      "a heartbeat after the flush",
      async () => Number(await local.redis.get(`verk:node:${nodeId}`)) > beat,
      3_000,
    )
    expect(worker.output()).not.toMatch(/NOSCRIPT/)
    // The flushes did bite: Redis answered NOSCRIPT to the worker's calls.
    const noscript = /errorstat_NOSCRIPT:count=(\d+)/.exec(await local.redis.info("errorstats"))?.[1]
    expect(Number(noscript ?? 0)).toBeGreaterThan(0)

    worker.kill("SIGTERM")
    expect((await worker.exited).code).toBe(0)
    expect(await local.redis.sismember("verk_nodes", nodeId)).toBe(0)
  }, 60_000)
})
