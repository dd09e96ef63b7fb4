/**
 * Signals a person can read: `verk run` says on the first Ctrl-C what its shutdown waits for, and a
 * second Ctrl-C stops it at once, the running job interrupted and back in its queue (nothing lost),
 * exiting 0 as after any signal. Fenced on Redis state, not sleeps.
 */
import { Redis } from "ioredis"
import { afterEach, describe, expect, it } from "vitest"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { startVerk, verk } from "./support.ts"

const namespaces: Array<string> = []
afterEach(async () => {
  for (const namespace of namespaces.splice(0)) await deleteNamespace(redisUrl(), namespace)
})

const until = async (what: string, check: () => Promise<boolean>, timeoutMillis = 10_000) => {
  const deadline = Date.now() + timeoutMillis
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 20))
  }
}

describe("verk run and Ctrl-C", () => {
  it("the first SIGINT says what it waits for; the second stops at once, the job back in its queue", async () => {
    const namespace = uniqueNamespace()
    namespaces.push(namespace)
    const env = {
      REDIS_URL: redisUrl(),
      VERK_NAMESPACE: namespace,
      VERK_POLL_INTERVAL: "200ms",
      VERK_HEARTBEAT_INTERVAL: "500ms",
      // Far longer than the test waits after the second Ctrl-C: only stopping now can end it in time.
      VERK_SHUTDOWN_TIMEOUT: "40s",
    }
    const redis = new Redis(redisUrl())
    try {
      const worker = startVerk(["run", "test/cli/fixtures/longJob.ts"], env)
      await worker.waitFor("worker process ready")
      const node = /worker process ready: node (\S+),/.exec(worker.stdout())?.[1]
      expect(node).toBeDefined()
      const enqueued = await verk(["enqueue", "LongJob", "[7]"], env)
      expect(enqueued.code).toBe(0)
      const jid = enqueued.stdout.trim()
      const inProgress = `${namespace}:inprogress:default:${node}`
      await until("the job to be in progress", async () => (await redis.hlen(inProgress)) === 1)
      await worker.waitFor("long job 7 started")
      const [payload] = await redis.hvals(inProgress)

      worker.child.kill("SIGINT")
      await worker.waitFor(/SIGINT: shutting down, waiting up to 40s for 1 running job to finish/)
      // Still waiting for the job: it is in progress, not back in its queue.
      expect(await redis.hlen(inProgress)).toBe(1)
      expect(worker.child.exitCode).toBeNull()

      const secondAt = Date.now()
      worker.child.kill("SIGINT")
      const { code } = await worker.exited
      const stopMillis = Date.now() - secondAt
      console.log(`second SIGINT: exited with ${code} after ${stopMillis} ms`)
      expect(code).toBe(0)
      expect(stopMillis, "stopped at once, not after the 40 s shutdown timeout").toBeLessThan(10_000)
      await worker.waitFor("SIGINT again: stopping now", 0)
      // Nothing lost: the job is back in its queue byte for byte, nothing in progress, not retried.
      expect(await redis.lrange(`${namespace}:queue:default`, 0, -1)).toEqual([payload])
      expect(JSON.parse(payload ?? "{}")).toMatchObject({ jid, class: "LongJob" })
      expect(await redis.exists(inProgress)).toBe(0)
      expect(await redis.zcard(`${namespace}:retry`)).toBe(0)
      expect(await redis.zcard(`${namespace}:dead`)).toBe(0)
    } finally {
      redis.disconnect()
    }
  }, 40_000)
})
