/**
 * SIGTERM at any moment of `verk run`'s start: the process exits 0 having undone what it started,
 * leaving no node registration or heartbeat behind and losing nothing. The moments, each fenced on
 * what the process does rather than on a delay: as soon as its first lines ran, when it starts
 * loading its modules (StartupSignals holds the signal until the runtime listens), while the
 * module loads (a module with a long top-level await), while it connects to a Redis that does not
 * answer, once its heartbeat is written, and right after it said it is ready (with a job to run).
 */
import { createServer, type Socket } from "node:net"
import { Redis } from "ioredis"
import { afterEach, describe, expect, it } from "vitest"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { fixture, type Process, startVerk, verk } from "./support.ts"

const namespaces: Array<string> = []
afterEach(async () => {
  for (const namespace of namespaces.splice(0)) await deleteNamespace(redisUrl(), namespace)
})

const settings = (namespace: string, url = redisUrl()) => ({
  REDIS_URL: url,
  VERK_NAMESPACE: namespace,
  VERK_POLL_INTERVAL: "200ms",
  VERK_HEARTBEAT_INTERVAL: "500ms",
  VERK_SHUTDOWN_TIMEOUT: "1s",
})

const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMillis = 20_000) => {
  const deadline = Date.now() + timeoutMillis
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 1))
  }
}

/**
 * Preloaded into the process under test (NODE_OPTIONS; no spaces there): says on stderr when the
 * program first asks for Effect's Node runtime, which the bin loads first of all its modules, right
 * after its first lines ran. Until then Node itself is starting, and a signal ends the process with
 * nothing started; from then on most of the start is ahead (loading the modules takes most of it).
 */
const probe =
  "--import=data:text/javascript,import{registerHooks}from'node:module';registerHooks({resolve:(s,c,n)=>(s==='@effect/platform-node/NodeRuntime'&&process.stderr.write('loading-the-runtime\\n'),n(s,c))})"

/** Sends SIGTERM; returns the exit code (or the signal that ended it) and how long it took. */
const terminate = async (worker: Process, moment: string) => {
  const sentAt = Date.now()
  worker.child.kill("SIGTERM")
  const { code, signal } = await worker.exited
  const millis = Date.now() - sentAt
  console.log(`SIGTERM ${moment}: exit ${code ?? signal} after ${millis} ms`)
  return { code, signal, millis }
}

/** The keys of `namespace`. */
const keysOf = async (redis: Redis, namespace: string) => (await redis.keys(`${namespace}:*`)).sort()

describe("SIGTERM while verk run starts", () => {
  it("as soon as its first lines ran, its modules still loading: exits 0, having registered nothing", async () => {
    const namespace = uniqueNamespace()
    namespaces.push(namespace)
    const redis = new Redis(redisUrl())
    try {
      const worker = startVerk(["run", fixture("longJob.ts")], { ...settings(namespace), NODE_OPTIONS: probe })
      await worker.waitFor("loading-the-runtime", 30_000)
      const { code, signal, millis } = await terminate(worker, "as its modules start loading")
      expect({ code, signal }).toEqual({ code: 0, signal: null })
      expect(millis).toBeLessThan(15_000)
      expect(worker.stdout()).not.toContain("worker process ready")
      expect(await keysOf(redis, namespace)).toEqual([])
    } finally {
      redis.disconnect()
    }
  }, 40_000)

  it("while the module loads: exits 0 without waiting for it", async () => {
    const namespace = uniqueNamespace()
    namespaces.push(namespace)
    const redis = new Redis(redisUrl())
    try {
      const worker = startVerk(["run", fixture("slowModule.ts")], settings(namespace))
      await worker.waitFor("slow module: loading", 30_000)
      const { code, signal, millis } = await terminate(worker, "while the module loads")
      expect({ code, signal }).toEqual({ code: 0, signal: null })
      // The module waits a minute: the process did not.
      expect(millis).toBeLessThan(15_000)
      expect(await keysOf(redis, namespace)).toEqual([])
    } finally {
      redis.disconnect()
    }
  }, 40_000)

  it("while it connects to a Redis that does not answer: exits 0 at once", async () => {
    const sockets: Array<Socket> = []
    let connected = false
    // Accepts connections and never answers: the start waits on its first reply.
    const silent = createServer((socket) => {
      sockets.push(socket)
      connected = true
    })
    await new Promise<void>((done) => silent.listen(0, "127.0.0.1", done))
    const address = silent.address()
    if (address === null || typeof address === "string") throw new Error("no port")
    try {
      const worker = startVerk(["run", fixture("longJob.ts")], settings("silent", `redis://127.0.0.1:${address.port}`))
      await until("the process to connect", () => connected || worker.child.exitCode !== null, 30_000)
      const { code, signal, millis } = await terminate(worker, "while connecting to Redis")
      expect({ code, signal }).toEqual({ code: 0, signal: null })
      expect(millis).toBeLessThan(10_000)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((done) => silent.close(() => done()))
    }
  }, 40_000)

  it("once its heartbeat is written (registering the node): exits 0, the registration removed", async () => {
    const namespace = uniqueNamespace()
    namespaces.push(namespace)
    const redis = new Redis(redisUrl())
    try {
      const worker = startVerk(["run", fixture("longJob.ts")], settings(namespace))
      let heartbeat: string | undefined
      await until(
        "the node's heartbeat",
        async () => {
          heartbeat = (await redis.keys(`${namespace}:verk:node:*`))[0]
          return heartbeat !== undefined || worker.child.exitCode !== null
        },
        30_000,
      )
      const { code, signal } = await terminate(worker, "once the heartbeat is written")
      expect({ code, signal }).toEqual({ code: 0, signal: null })
      const node = heartbeat?.slice(`${namespace}:verk:node:`.length).split(":")[0]
      expect(node).toBeTruthy()
      const left = (await keysOf(redis, namespace)).filter(
        (key) => key.includes(node ?? "?") || /:(processes|verk_nodes|inprogress:.*)$/.test(key),
      )
      expect(left, "the node's registration, heartbeat and process entry").toEqual([])
    } finally {
      redis.disconnect()
    }
  }, 40_000)

  it("right after it said it is ready: exits 0, deregistered, the job back in its queue", async () => {
    const namespace = uniqueNamespace()
    namespaces.push(namespace)
    const env = settings(namespace)
    const redis = new Redis(redisUrl())
    try {
      const enqueued = await verk(["enqueue", "LongJob", "[1]"], env)
      expect(enqueued.code, enqueued.stderr).toBe(0)
      const [payload] = await redis.lrange(`${namespace}:queue:default`, 0, -1)
      expect(payload).toBeDefined()
      const worker = startVerk(["run", fixture("longJob.ts")], env)
      await worker.waitFor("worker process ready", 30_000)
      const node = /worker process ready: node (\S+),/.exec(worker.stdout())?.[1]
      const { code, signal } = await terminate(worker, "right after ready")
      expect({ code, signal }).toEqual({ code: 0, signal: null })
      // Nothing of the node is left, and the job is where it was (run or not, it went back).
      expect(await redis.lrange(`${namespace}:queue:default`, 0, -1)).toEqual([payload])
      expect(node).toBeDefined()
      const left = (await keysOf(redis, namespace)).filter(
        (key) => key.includes(node ?? "?") || /:(processes|verk_nodes|inprogress:.*)$/.test(key),
      )
      expect(left, "the node's registration, heartbeat and in-progress entries").toEqual([])
      expect(await redis.zcard(`${namespace}:retry`)).toBe(0)
      expect(await redis.zcard(`${namespace}:dead`)).toBe(0)
    } finally {
      redis.disconnect()
    }
  }, 60_000)
})
