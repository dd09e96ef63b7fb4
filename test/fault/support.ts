/**
 * Fault-test harness: real worker processes (test/fault/workerMain.ts under Node 24) on a private
 * redis-server that the test may stop, restart on the same port and directory, or poke.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { connect, createServer, type Socket } from "node:net"
import { resolve } from "node:path"
import { Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { afterAll, beforeAll, onTestFailed, onTestFinished } from "vitest"
import * as Client from "../../packages/core/src/Client.ts"
import type { Worker } from "../../packages/core/src/Worker.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { type RedisServer, startRedisServer } from "../support/redisServer.ts"

const root = resolve(import.meta.dirname, "../..")
const nodeBinary = resolve(root, "node_modules/.bin/node")
const workerMain = resolve(import.meta.dirname, "workerMain.ts")

export const sleep = (millis: number) => new Promise<void>((done) => setTimeout(done, millis))

/** Polls `check` every `everyMillis` until it returns a value other than undefined/false. */
export const waitUntil = async <A>(
  what: string,
  check: () => Promise<A | undefined | false>,
  timeoutMillis: number,
  everyMillis = 20,
  explain?: () => Promise<string>,
): Promise<A> => {
  const deadline = Date.now() + timeoutMillis
  while (true) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) {
      const detail = explain === undefined ? "" : `\n${await explain()}`
      throw new Error(`timed out after ${timeoutMillis} ms waiting for: ${what}${detail}`)
    }
    await sleep(everyMillis)
  }
}

// ---------------------------------------------------------------------------------------------
// An admin connection for the test
// ---------------------------------------------------------------------------------------------

/** A test-side connection that waits out restarts rather than failing. */
export const adminClient = (url: string): Redis => {
  const client = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: () => 50 })
  client.on("error", () => {})
  return client
}

/**
 * A private redis-server for a test file, and an admin connection to it: started before the
 * file's tests and stopped after them. Read `server` and `redis` inside tests, not at load time.
 */
export const privateRedis = (): { readonly server: RedisServer; readonly redis: Redis } => {
  let server: RedisServer | undefined
  let redis: Redis | undefined
  beforeAll(async () => {
    server = await startRedisServer()
    redis = adminClient(server.url)
  })
  afterAll(async () => {
    redis?.disconnect()
    await server?.stop()
  })
  const started = <A>(value: A | undefined): A => {
    if (value === undefined) throw new Error("privateRedis is read before its beforeAll ran")
    return value
  }
  return {
    get server() {
      return started(server)
    },
    get redis() {
      return started(redis)
    },
  }
}

export interface Wire {
  readonly class: string
  readonly jid: string
  readonly args: ReadonlyArray<unknown>
  readonly queue: string
  readonly error_class?: string
  readonly error_message?: string
}

export const parse = (raw: string): Wire => JSON.parse(raw) as Wire

/** Enqueues through the library's own client (RedisStore + Client), as an application would. */
export const enqueueMany = <A, E, R>(
  url: string,
  worker: Worker<A, E, R>,
  argsList: ReadonlyArray<A>,
): Promise<ReadonlyArray<string>> =>
  Effect.runPromise(
    Client.Client.use((client) => client.enqueueMany(worker, argsList)).pipe(
      Effect.map((jobs) => jobs.map((job) => job.jid)),
      Effect.provide(Client.layer.pipe(Layer.provide(RedisStore.layer({ url })))),
    ),
  )

/** How many runs each jid had (the `runs` hash holds one `<jid>:<run id>` field per run). */
export const runCounts = async (redis: Redis): Promise<ReadonlyMap<string, number>> => {
  const counts = new Map<string, number>()
  for (const field of await redis.hkeys("runs")) {
    const jid = field.slice(0, field.lastIndexOf(":"))
    counts.set(jid, (counts.get(jid) ?? 0) + 1)
  }
  return counts
}

/** Every jid that ran more than once, with its number of runs. */
export const duplicates = async (redis: Redis): Promise<ReadonlyArray<readonly [string, number]>> =>
  [...(await runCounts(redis))].filter(([, runs]) => runs > 1)

// ---------------------------------------------------------------------------------------------
// Worker processes
// ---------------------------------------------------------------------------------------------

export interface WorkerSettings {
  readonly url: string
  readonly queues?: string
  readonly heartbeat?: string
  readonly poll?: string
  readonly shutdownTimeout?: string
  readonly nodeId?: string
  readonly extra?: Readonly<Record<string, string>>
  /** The process's entry point: workerMain.ts when absent. */
  readonly main?: string
}

export interface WorkerHandle {
  readonly name: string
  readonly pid: number
  readonly spawnedAt: number
  readonly child: ChildProcess
  readonly output: () => string
  readonly running: () => boolean
  /** Resolves with how the process ended. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** The node id it announces once ready ("worker process ready: node <id>, pid <pid>"). */
  readonly ready: (timeoutMillis?: number) => Promise<string>
  readonly kill: (signal: NodeJS.Signals) => void
}

const OutputLimit = 400_000

/**
 * The worker processes of one test. Their output is kept and printed if the test fails; any
 * still running at `cleanup` are killed.
 */
export const workerPool = () => {
  const started: Array<WorkerHandle> = []
  let count = 0

  const spawnWorker = (settings: WorkerSettings): WorkerHandle => {
    const name = `worker-${++count}`
    const env: Record<string, string> = {}
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && !key.startsWith("VERK_") && key !== "REDIS_URL") env[key] = value
    }
    Object.assign(env, {
      REDIS_URL: settings.url,
      VERK_QUEUES: settings.queues ?? "default:10",
      VERK_HEARTBEAT_INTERVAL: settings.heartbeat ?? "300 millis",
      VERK_POLL_INTERVAL: settings.poll ?? "200 millis",
      VERK_SHUTDOWN_TIMEOUT: settings.shutdownTimeout ?? "2 seconds",
      VERK_START_JOB_LOG_LEVEL: "None",
      VERK_DONE_JOB_LOG_LEVEL: "None",
      ...(settings.nodeId === undefined ? {} : { VERK_NODE_ID: settings.nodeId }),
      ...settings.extra,
    })
    const spawnedAt = Date.now()
    // `@verk/source`: the worker runs on the sources, as the tests do (see vitest.config.ts).
    const child = spawn(nodeBinary, ["--conditions=@verk/source", settings.main ?? workerMain], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    })
    let output = ""
    const append = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.length > OutputLimit) output = output.slice(-OutputLimit)
    }
    child.stdout?.on("data", append)
    child.stderr?.on("data", append)
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) done({ code: child.exitCode, signal: child.signalCode })
      else child.once("exit", (code, signal) => done({ code, signal }))
    })
    const running = () => child.exitCode === null && child.signalCode === null
    const handle: WorkerHandle = {
      name,
      pid: child.pid ?? -1,
      spawnedAt,
      child,
      output: () => output,
      running,
      exited,
      ready: (timeoutMillis = 15_000) =>
        waitUntil(
          `${name} to be ready`,
          async () => {
            const found = /worker process ready: node (\S+), pid/.exec(output)?.[1]
            if (found === undefined && !running()) throw new Error(`${name} exited before it was ready:\n${output}`)
            return found
          },
          timeoutMillis,
          10,
        ),
      kill: (signal) => {
        if (running()) child.kill(signal)
      },
    }
    started.push(handle)
    return handle
  }

  const cleanup = async () => {
    for (const worker of started) worker.kill("SIGKILL")
    await Promise.all(started.map((worker) => worker.exited))
  }

  const dump = () =>
    started
      .map((worker) => `----- ${worker.name} (pid ${worker.pid}) -----\n${worker.output().slice(-20_000)}`)
      .join("\n")

  return { spawn: spawnWorker, cleanup, dump, started }
}

/** Prints every worker's output if the current test fails, and kills what is left at its end. */
export const withWorkers = () => {
  const pool = workerPool()
  onTestFailed(() => {
    console.log(`worker output of the failed test:\n${pool.dump()}`)
  })
  onTestFinished(() => pool.cleanup())
  return pool
}

/** The Redis keys a fault test looks at, for a failure message. */
export const describeState = async (redis: Redis): Promise<string> => {
  const inProgress: Record<string, number> = {}
  for (const key of await redis.keys("inprogress:*")) inProgress[key] = await redis.hlen(key)
  return JSON.stringify({
    done: await redis.scard("done"),
    queue: await redis.llen("queue:default"),
    inProgress,
    retry: await redis.zcard("retry"),
    dead: await redis.zcard("dead"),
    nodes: await redis.smembers("verk_nodes"),
    heartbeats: await redis.keys("verk:node:*"),
  })
}

// ---------------------------------------------------------------------------------------------
// A TCP proxy that can lose one reply
// ---------------------------------------------------------------------------------------------

export interface Proxy {
  readonly url: string
  /**
   * Arms the proxy: the next client chunk that mentions `marker` (e.g. a script's SHA) is
   * forwarded to Redis, and then that connection is cut without relaying Redis's reply. Resolves
   * once it has happened, with how many reply bytes were swallowed.
   */
  readonly dropReplyTo: (marker: string) => Promise<number>
  readonly close: () => Promise<void>
}

/** A proxy on a free port of 127.0.0.1 to the Redis on `targetPort`. */
export const startProxy = async (targetPort: number): Promise<Proxy> => {
  let armed: { readonly marker: string; readonly done: (swallowed: number) => void } | undefined
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1")
    sockets.add(client).add(upstream)
    let cutting = false
    let swallowed = 0
    const closeBoth = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on("error", closeBoth).on("close", closeBoth)
    upstream.on("error", closeBoth).on("close", closeBoth)
    upstream.on("data", (chunk: Buffer) => {
      if (cutting) swallowed += chunk.length
      else client.write(chunk)
    })
    client.on("data", (chunk: Buffer) => {
      const trap = armed
      if (trap !== undefined && !cutting && chunk.includes(trap.marker)) {
        armed = undefined
        cutting = true
        upstream.write(chunk)
        // Give Redis time to run it and answer; the answer goes nowhere.
        setTimeout(() => {
          closeBoth()
          trap.done(swallowed)
        }, 100)
        return
      }
      if (!cutting) upstream.write(chunk)
    })
  })
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done))
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("the proxy has no port")
  return {
    url: `redis://127.0.0.1:${address.port}`,
    dropReplyTo: (marker) => new Promise((done) => (armed = { marker, done })),
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((done) => server.close(() => done()))
    },
  }
}
