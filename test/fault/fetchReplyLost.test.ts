/**
 * A fetch whose reply never arrives: Redis runs the fetch script (the jobs move to the node's
 * in-progress list), then the connection drops before the reply reaches the node. This is what a
 * Redis restart or a network cut does to a fetch in flight (the Redis restart test hits it by
 * chance); here a proxy between the worker and Redis makes it happen on purpose: it forwards the
 * first fetch after it is armed, swallows the reply and closes the connection. The node
 * reconnects and goes on; the jobs of the lost reply must still run while the node lives.
 */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { describe, expect, it } from "vitest"
import { describeState, enqueueMany, privateRedis, startProxy, waitUntil, withWorkers } from "./support.ts"
import { Record } from "./workers.ts"

const Jobs = 500

/** Redis names a script by the SHA-1 of its text; the worker calls fetch.lua by it. */
const fetchSha = createHash("sha1")
  .update(readFileSync(resolve(import.meta.dirname, "../../lua/fetch.lua"), "utf8"))
  .digest("hex")

const local = privateRedis()

describe("a fetch whose reply is lost", () => {
  it("leaves no job stranded in the live node's in-progress list", async () => {
    const workers = withWorkers()
    const proxy = await startProxy(local.server.port)
    try {
      const jids = await enqueueMany(
        local.server.url,
        Record,
        Array.from({ length: Jobs }, (_, n) => [n] as const),
      )
      // Verk's connections go through the proxy; the workers' own bookkeeping goes straight to Redis.
      const worker = workers.spawn({
        url: proxy.url,
        queues: "default:10",
        extra: { RECORD_REDIS_URL: local.server.url },
      })
      const nodeId = await worker.ready()
      await waitUntil("100 jobs done", async () => (await local.redis.scard("done")) >= 100, 20_000, 2)

      const dropped = await proxy.dropReplyTo(fetchSha)
      await waitUntil(
        "every job done",
        async () => (await local.redis.scard("done")) === Jobs,
        10_000,
        20,
        async () => {
          const stranded = await local.redis.hvals(`inprogress:default:${nodeId}`)
          return (
            `${await describeState(local.redis)}\n${stranded.length} jobs stranded in ${nodeId}'s in-progress list ` +
            `while it is alive (the cut dropped ${dropped} bytes of reply)`
          )
        },
      )
      expect(jids.length).toBe(Jobs)
      // A job is recorded done when perform ends; its ack follows: wait for the last acks to land.
      await waitUntil(
        "the in-progress list to empty",
        async () => (await local.redis.hlen(`inprogress:default:${nodeId}`)) === 0,
        5_000,
      )
      expect(worker.running()).toBe(true)
    } finally {
      await proxy.close()
    }
  }, 60_000)
})
