/**
 * Cancelling a running job across processes: node B (a real `verk run`) runs a job that sleeps for
 * an hour; node A (this test process, and the `verk jobs cancel` command) cancels it. The job is
 * interrupted at once (its finalizer runs), leaves in-progress, and never runs again: not after B
 * restarts, nor when B dies with it and another node recovers B's jobs. Fenced on output lines and
 * Redis state, not sleeps.
 */
import { Effect, ManagedRuntime } from "effect"
import { Redis } from "ioredis"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Cancel from "../../packages/core/src/Cancel.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { startVerk, verk } from "./support.ts"

const namespaces: Array<string> = []
afterEach(async () => {
  for (const namespace of namespaces.splice(0)) await deleteNamespace(redisUrl(), namespace)
})

let redis: Redis
beforeAll(() => {
  redis = new Redis(redisUrl())
})
afterAll(() => redis.disconnect())

const until = async (what: string, check: () => Promise<boolean>, timeoutMillis = 15_000) => {
  const deadline = Date.now() + timeoutMillis
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 20))
  }
}

const fixture = "test/cli/fixtures/cancellable.ts"

const setup = () => {
  const namespace = uniqueNamespace()
  namespaces.push(namespace)
  const env = {
    REDIS_URL: redisUrl(),
    VERK_NAMESPACE: namespace,
    VERK_POLL_INTERVAL: "200ms",
    VERK_HEARTBEAT_INTERVAL: "500ms",
  }
  const runtime = ManagedRuntime.make(RedisStore.layer({ url: redisUrl(), namespace }))
  const inProgress = async () => {
    let count = 0
    for (const key of await redis.keys(`${namespace}:inprogress:*`)) count += await redis.hlen(key)
    return count
  }
  return { namespace, env, runtime, inProgress }
}

const startNode = async (env: Record<string, string>) => {
  const node = startVerk(["run", fixture], env)
  await node.waitFor("worker process ready")
  const id = /worker process ready: node (\S+),/.exec(node.stdout())?.[1]
  expect(id).toBeDefined()
  return { process: node, id: id! }
}

const enqueue = async (env: Record<string, string>, worker: string, args: string) => {
  const enqueued = await verk(["enqueue", worker, args], env)
  expect(enqueued.code).toBe(0)
  return enqueued.stdout.trim()
}

describe("cancelling a running job", () => {
  it("interrupts it on the node running it at once, its finalizer runs, and it never runs again", async () => {
    const { env, runtime, inProgress } = setup()
    try {
      const b = await startNode(env)
      const jid = await enqueue(env, "HourJob", "[1]")
      await b.process.waitFor("hour job 1 started")
      await runtime.runPromise(Effect.void) // the connection is up before the call is timed

      const calledAt = Date.now()
      const result = await runtime.runPromise(Cancel.cancel(jid))
      const returnedAt = Date.now()
      expect(result).toEqual({ _tag: "Interrupted", jid, node: b.id, alive: true })
      await b.process.waitFor(/hour job 1 finalizer at (\d+)/, 5_000)
      const finalizerAt = Number(/hour job 1 finalizer at (\d+)/.exec(b.process.stdout())![1])
      // The notification goes out before the call returns: the finalizer may even run first.
      const millis = Math.max(0, finalizerAt - returnedAt)
      console.log(
        `cancel: the call took ${returnedAt - calledAt} ms; the finalizer ran ${finalizerAt - calledAt} ms after ` +
          `the call began, ${finalizerAt - returnedAt} ms after it returned`,
      )
      // A timeout would take an hour: under a second proves interruption, even on a loaded machine.
      expect(millis).toBeLessThan(1_000)
      await b.process.waitFor(`cancelled HourJob ${jid}`)
      await until("the job to leave in-progress", async () => (await inProgress()) === 0)

      // Cancelling again (here from the CLI) says so and changes nothing.
      const again = await verk(["jobs", "cancel", jid], env)
      expect(again.code).toBe(0)
      expect(again.stdout).toContain(`${jid}: already cancelled`)

      // B restarts; a later job of the same queue runs there, the cancelled one does not.
      b.process.child.kill("SIGTERM")
      await b.process.exited
      const b2 = await startNode(env)
      await enqueue(env, "FenceJob", "[2]")
      await b2.process.waitFor("fence job 2 ran")
      expect(b2.process.stdout()).not.toContain("hour job 1 started")
      expect(b.process.stdout().split("hour job 1 started").length).toBe(2)
    } finally {
      await runtime.dispose()
    }
  })

  it("a job cancelled while its node is dead is dropped, not run, when another node recovers it", async () => {
    const { env, runtime, inProgress } = setup()
    try {
      const b = await startNode(env)
      const jid = await enqueue(env, "HourJob", "[3]")
      await b.process.waitFor("hour job 3 started")
      b.process.child.kill("SIGKILL")
      await b.process.exited
      expect(await inProgress()).toBe(1)

      const result = await runtime.runPromise(Cancel.cancel(jid))
      // B's registry entry still says it runs the job: the marker keeps it from running again.
      expect(result._tag).toBe("Interrupted")

      const c = await startNode(env)
      await c.process.waitFor(`cancelled HourJob ${jid}`, 30_000)
      await until("the job to leave in-progress", async () => (await inProgress()) === 0)
      await enqueue(env, "FenceJob", "[4]")
      await c.process.waitFor("fence job 4 ran")
      expect(c.process.stdout()).not.toContain("hour job 3 started")
    } finally {
      await runtime.dispose()
    }
  })

  it("verk jobs cancel: a queued and a scheduled job are removed, one line each; a finished one says so", async () => {
    const { env, runtime } = setup()
    try {
      // No node runs: the jobs wait.
      const queued = await enqueue(env, "HourJob", "[5]")
      const scheduledJid = "sched6"
      const line = JSON.stringify({ class: "HourJob", args: [6], jid: scheduledJid, at: Date.now() / 1000 + 3600 })
      expect((await verk(["enqueue", "--file", "-"], env, `${line}\n`)).code).toBe(0)
      expect(await redis.zcard(`${env.VERK_NAMESPACE}:schedule`)).toBe(1)
      const result = await verk(["jobs", "cancel", queued, scheduledJid, "nope"], env)
      expect(result.code).toBe(0)
      expect(result.stdout.trim().split("\n")).toEqual([
        `${queued}: cancelled, removed from queue default`,
        `${scheduledJid}: cancelled, removed from the schedule set`,
        "nope: not waiting or running (already finished, or no such job); nothing to cancel",
      ])
      const namespace = env.VERK_NAMESPACE
      expect(await redis.llen(`${namespace}:queue:default`)).toBe(0)
      expect(await redis.zcard(`${namespace}:schedule`)).toBe(0)
      expect(await redis.zrange(`${namespace}:verk:cancelled`, "0", "-1")).toEqual(
        expect.arrayContaining([queued, scheduledJid, "nope"]),
      )
    } finally {
      await runtime.dispose()
    }
  })
})
