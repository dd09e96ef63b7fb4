/**
 * SIGTERM to a worker process busy with long jobs: it stops fetching, gives the running jobs
 * VERK_SHUTDOWN_TIMEOUT (500 ms) to finish, interrupts them, puts them back on queue:default
 * byte for byte, deregisters, and exits 0.
 */
import { describe, expect, it } from "vitest"
import { enqueueMany, privateRedis, waitUntil, withWorkers } from "./support.ts"
import { Slow } from "./workers.ts"

const Jobs = 3

const local = privateRedis()

describe("SIGTERM to a busy worker process", () => {
  it("exits 0 after the shutdown timeout, with its jobs back on the queue and itself deregistered", async () => {
    const workers = withWorkers()
    await enqueueMany(
      local.server.url,
      Slow,
      Array.from({ length: Jobs }, (_, n) => [n] as const),
    )
    const enqueued = (await local.redis.lrange("queue:default", 0, -1)).sort()
    const worker = workers.spawn({ url: local.server.url, queues: "default:5", shutdownTimeout: "500 millis" })
    const nodeId = await worker.ready()
    await waitUntil("every Slow job running", async () => (await local.redis.scard("slow:started")) === Jobs, 10_000)
    expect(await local.redis.hlen(`inprogress:default:${nodeId}`)).toBe(Jobs)
    expect(await local.redis.sismember("verk_nodes", nodeId)).toBe(1)

    const signalledAt = Date.now()
    worker.kill("SIGTERM")
    const { code, signal } = await worker.exited
    const shutdownMillis = Date.now() - signalledAt
    console.log(`SIGTERM: exited with ${code ?? signal} after ${shutdownMillis} ms`)

    expect(code).toBe(0)
    expect(shutdownMillis, "waited for the shutdown timeout").toBeGreaterThanOrEqual(500)
    expect(shutdownMillis, "did not wait for the 10 s jobs").toBeLessThan(5_000)
    expect((await local.redis.lrange("queue:default", 0, -1)).sort(), "the jobs are back, byte for byte").toEqual(
      enqueued,
    )
    expect(await local.redis.exists(`inprogress:default:${nodeId}`)).toBe(0)
    expect(await local.redis.sismember("verk_nodes", nodeId)).toBe(0)
    expect(await local.redis.exists(`verk:node:${nodeId}`, `verk:node:${nodeId}:queues`)).toBe(0)
    expect(await local.redis.sismember("processes", nodeId)).toBe(0)
    expect(await local.redis.zcard("retry")).toBe(0)
    expect(await local.redis.zcard("dead")).toBe(0)
    expect(worker.output()).toContain("requeued 3 unfinished jobs")
  }, 30_000)
})
