/**
 * Jobs in worker threads under a real `verk run` (one thread: VERK_THREADS=1), marks in Redis
 * written by the jobs themselves (test/cli/fixtures/threaded.ts): a synchronous loop past its
 * timeout is stopped there, `process.exit` ends only its thread, the node's own loops run on
 * while a thread spins, a cancel terminates the thread, and a layer that fails in the threads
 * fails their jobs (retried). What did not happen is fenced by a later mark, never by a sleep.
 */
import { Effect, Layer, ManagedRuntime } from "effect"
import { Redis } from "ioredis"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Cancel from "../../packages/core/src/Cancel.ts"
import * as Client from "../../packages/core/src/Client.ts"
import type { Worker } from "../../packages/core/src/Worker.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { Exit, Fence, LongSpin, Mark, Spin, Threaded } from "./fixtures/threaded.ts"
import { Unstartable } from "./fixtures/threadLayerFails.ts"
import { startVerk } from "./support.ts"

const namespaces: Array<string> = []
afterEach(async () => {
  for (const namespace of namespaces.splice(0)) await deleteNamespace(redisUrl(), namespace)
})

let redis: Redis
beforeAll(() => {
  redis = new Redis(redisUrl())
})
afterAll(() => redis.disconnect())

const until = async <A>(what: string, check: () => Promise<A | undefined>, timeoutMillis = 15_000): Promise<A> => {
  const deadline = Date.now() + timeoutMillis
  while (true) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 20))
  }
}

interface Retried {
  readonly class: string
  readonly jid: string
  readonly retry_count: number
  readonly error_class: string
  readonly error_message: string
  readonly failed_at: number
}

/** A node of one worker thread on a fresh namespace, and what the test reads and writes there. */
const setup = async (module = "test/cli/fixtures/threaded.ts") => {
  const namespace = uniqueNamespace()
  namespaces.push(namespace)
  const node = startVerk(["run", module], {
    REDIS_URL: redisUrl(),
    VERK_NAMESPACE: namespace,
    VERK_THREADS: "1",
    VERK_QUEUES: "default:5",
    VERK_POLL_INTERVAL: "200ms",
    VERK_HEARTBEAT_INTERVAL: "500ms",
  })
  await node.waitFor("worker process ready")
  const id = /worker process ready: node (\S+),/.exec(node.stdout())?.[1]
  if (id === undefined) throw new Error("no node id")
  const layer = Client.layer.pipe(Layer.provide(RedisStore.layer({ url: redisUrl(), namespace })))
  const enqueue = <A, E, R>(worker: Worker<A, E, R>, args: A) =>
    Effect.runPromise(Effect.map(Effect.provide(Client.enqueue(worker, args), layer), (job) => job.jid))
  const marks = async (): Promise<Record<string, number>> =>
    Object.fromEntries(
      Object.entries(await redis.hgetall(`${namespace}:marks`)).map(([field, at]) => [field, Number(at)]),
    )
  const mark = async (field: string) => (await marks())[field]
  const retried = async (jid: string): Promise<Retried | undefined> =>
    (await redis.zrange(`${namespace}:retry`, "0", "-1"))
      .map((raw) => JSON.parse(raw) as Retried)
      .find((job) => job.jid === jid)
  /** The node's last heartbeat (Sidekiq's process hash), epoch milliseconds. */
  const beat = async () => Number(await redis.hget(`${namespace}:${id}`, "beat")) * 1000
  return { node, namespace, enqueue, marks, mark, retried, beat }
}

describe("jobs in worker threads", () => {
  it("a 5 s synchronous loop with timeout 1 s is stopped at about 1 s and retried; its write after the loop never happens", async () => {
    const { enqueue, mark, marks, retried } = await setup()
    const jid = await enqueue(Spin, ["s", 5000])
    const started = await until("the loop to start", () => mark("start:s"))
    // The fence: a job of the node's own loop that marks once the loop would have ended, with room.
    await enqueue(Fence, ["s", 6500])

    const job = await until("the job in the retry set", () => retried(jid))
    expect(job.error_class).toBe("TimeoutError")
    expect(job.retry_count).toBe(0)
    const stoppedAfter = job.failed_at * 1000 - started
    expect(stoppedAfter).toBeGreaterThanOrEqual(900)
    expect(stoppedAfter).toBeLessThan(2500)

    const fenced = await until("the fence", () => mark("fence:s"))
    expect(fenced - started).toBeGreaterThan(6000)
    expect(Object.keys(await marks())).not.toContain("after:s")
  })

  it("a job calling process.exit(1) fails and is retried, while the node beats and runs other jobs, and a new thread takes the next", async () => {
    const { node, enqueue, mark, marks, retried, beat } = await setup()
    await enqueue(Threaded, ["before"])
    const before = await until("a first threaded job", () => findThreaded(marks, "before"))
    const jid = await enqueue(Exit, ["e"])
    const job = await until("the job in the retry set", () => retried(jid))
    expect(job.error_class).toBe("Verk::ThreadExited")
    expect(job.error_message).toContain("exited with code 1")
    expect(job.retry_count).toBe(0)
    expect(await mark("exit:e")).toBeDefined()

    for (let n = 0; n < 20; n++) await enqueue(Mark, [`m${n}`])
    await enqueue(Threaded, ["after"])
    await until("the other jobs", async () => {
      const fields = Object.keys(await marks())
      return fields.filter((field) => field.startsWith("mark:")).length === 20 ? true : undefined
    })
    const after = await until("a threaded job after the exit", () => findThreaded(marks, "after"))
    // Both ran in a worker thread (not the main thread, id 0), and not the same one: it was replaced.
    expect(threadOf(before)).toBeGreaterThan(0)
    expect(threadOf(after)).toBeGreaterThan(0)
    expect(threadOf(after)).not.toBe(threadOf(before))
    // The node beat after the thread died, and is still there.
    await until("a heartbeat after the exit", async () => ((await beat()) > job.failed_at * 1000 ? true : undefined))
    expect(node.child.exitCode).toBeNull()
  })

  it("the node's heartbeat and fetch loop keep running while a threaded job spins", async () => {
    const { enqueue, mark, marks, retried, beat } = await setup()
    const jid = await enqueue(LongSpin, ["l", 4000])
    const started = await until("the loop to start", () => mark("start:l"))
    for (let n = 0; n < 10; n++) await enqueue(Mark, [`m${n}`])
    await until("the other jobs", async () => {
      const fields = Object.keys(await marks())
      return fields.filter((field) => field.startsWith("mark:")).length === 10 ? true : undefined
    })
    await until("a heartbeat during the loop", async () => ((await beat()) > started + 1000 ? true : undefined))
    // Fence: the loop's own write after it had not happened yet, so all this was while it spun.
    expect(Object.keys(await marks())).not.toContain("after:l")
    const ended = await until("the loop to end", () => mark("after:l"))
    expect(ended - started).toBeGreaterThanOrEqual(4000)
    expect(await retried(jid)).toBeUndefined()
  })
})

describe("cancelling a threaded job", () => {
  it("terminates its thread at once: its write after the loop never happens, and a new thread takes the next job", async () => {
    const { node, namespace, enqueue, mark, marks } = await setup()
    const jid = await enqueue(LongSpin, ["c", 5000])
    const started = await until("the loop to start", () => mark("start:c"))
    await enqueue(Fence, ["c", 6500])
    const runtime = ManagedRuntime.make(RedisStore.layer({ url: redisUrl(), namespace }))
    try {
      const result = await runtime.runPromise(Cancel.cancel(jid))
      expect(result._tag).toBe("Interrupted")
    } finally {
      await runtime.dispose()
    }
    await node.waitFor(new RegExp(`cancelled LongSpin ${jid} after \\d+ ms`))
    // The run ended well before its 5 s loop would have: the thread was terminated, not awaited.
    const ranFor = Number(new RegExp(`cancelled LongSpin ${jid} after (\\d+) ms`).exec(node.stdout())?.[1])
    expect(ranFor).toBeLessThan(4000)
    await enqueue(Threaded, ["next"])
    await until("a threaded job after the cancel", () => findThreaded(marks, "next"))
    const fenced = await until("the fence", () => mark("fence:c"))
    expect(fenced - started).toBeGreaterThan(5000)
    expect(Object.keys(await marks())).not.toContain("after:c")
  })
})

describe("a module whose layer fails in a worker thread", () => {
  it("is reported at start, and its threaded jobs fail with Verk::ThreadStartFailed and are retried", async () => {
    const { node, enqueue, retried } = await setup("test/cli/fixtures/threadLayerFails.ts")
    await node.waitFor("Worker threads cannot start")
    expect(node.stdout() + node.stderr()).toContain("no license server reachable from this thread")
    const jid = await enqueue(Unstartable, [])
    const job = await until("the job in the retry set", () => retried(jid))
    expect(job.error_class).toBe("Verk::ThreadStartFailed")
    expect(job.error_message).toContain("exited with code 1")
    expect(node.child.exitCode).toBeNull()
  })
})

/** The mark of `Threaded` job `tag` (`threaded:<tag>:<thread id>`), as that field. */
const findThreaded = async (marks: () => Promise<Record<string, number>>, tag: string) =>
  Object.keys(await marks()).find((field) => field.startsWith(`threaded:${tag}:`))

const threadOf = (field: string) => Number(field.split(":")[2])
