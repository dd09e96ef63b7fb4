/**
 * The Verk side of the bench. The drains run worker processes (verkWorkerMain.ts, the product's
 * `NodeProcess.run`), fed by the bench's own client. The latency and idle-load phases run a node
 * in the bench process, built with `ManagedRuntime` (so the bench can drive it from plain async
 * code) and disposed after, which closes every scope the runtime opened (queues, scheduler, stats
 * flusher, Redis connections).
 */
import { fileURLToPath } from "node:url"
import { Client, Store, Verk } from "@verk/core"
import { RedisStore } from "@verk/redis"
import { DateTime, Effect, Layer, ManagedRuntime, References } from "effect"
import type { Redis } from "ioredis"
import { NodeFlags } from "../packages/node/src/NodeFlags.ts"
import type { WorkerBundles } from "./build.ts"
import {
  baseEnv,
  drainInStages as drainStaged,
  drainWithProcesses,
  idleRssAfter,
  type ProcessDrainResult,
  type StagedDrainResult,
  spawnWorker,
} from "./processes.ts"
import { commandsDuring, deferred, foreignConnections, sidekiqJob, sleep } from "./support.ts"
import {
  AsyncPayload,
  ConcurrencyLimitedPayload,
  hooks,
  NoOp,
  Payload,
  Probe,
  RateLimitedPayload,
} from "./verkWorkers.ts"

const root = fileURLToPath(new URL("..", import.meta.url))

/**
 * The per-job "start"/"done" lines are Info: a node that logs at Warn drops them without printing
 * 100,000 lines into the table. The runtime's settings stay the defaults.
 */
const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

/** The bench's client: `Client` for enqueueing, and the `Store` itself to pause and resume a queue. */
const clientRuntime = (url: string) =>
  ManagedRuntime.make(Client.layer.pipe(Layer.provideMerge(RedisStore.layer({ url })), Layer.provide(quiet)))

const nodeRuntime = (url: string, queues: Readonly<Record<string, number>>) =>
  ManagedRuntime.make(
    Verk.layer({ queues, workers: [NoOp, Probe] }).pipe(Layer.provide(RedisStore.layer({ url })), Layer.provide(quiet)),
  )

type NodeRuntime = ReturnType<typeof nodeRuntime>

/** Builds the runtime (connect, subscribe, start the queues) and returns how long that took. */
const start = async (runtime: NodeRuntime | ReturnType<typeof clientRuntime>): Promise<number> => {
  const began = performance.now()
  await runtime.runPromise(Effect.void)
  return performance.now() - began
}

const stop = async (runtime: NodeRuntime): Promise<number> => {
  const began = performance.now()
  await runtime.dispose()
  return performance.now() - began
}

/** Jobs per `enqueueMany` call (which itself sends them 1,000 per round trip): keeps the bench's heap small. */
const EnqueueChunk = 10_000

const setPaused = (queue: string, paused: boolean) =>
  Effect.gen(function* () {
    const store = yield* Store.Store
    yield* store.setPaused(queue, paused)
  })

/**
 * The jobs of a drain: the no-op job with no args (sections 1, 6, 7), or the workload matrix's job
 * of `kind` whose one arg is a string of `argBytes` bytes.
 */
export interface Workload {
  readonly kind: "no-op" | "async" | "rate-limited" | "concurrency-limited"
  readonly argBytes: number
}

/** The worker of each kind of job (bench/verkWorkers.ts). */
const workerOf = {
  "no-op": Payload,
  async: AsyncPayload,
  "rate-limited": RateLimitedPayload,
  "concurrency-limited": ConcurrencyLimitedPayload,
} as const

/** A string of `bytes` ASCII bytes (one JSON byte each). */
export const payloadOf = (bytes: number) => "x".repeat(bytes)

const enqueueJobs = async (client: ReturnType<typeof clientRuntime>, jobs: number, workload?: Workload) => {
  // Large args: fewer jobs per call, so that the bench's heap holds one round trip's worth or so.
  const chunk = workload === undefined || workload.argBytes < 1_000 ? EnqueueChunk : 1_000
  const payload = workload === undefined ? "" : payloadOf(workload.argBytes)
  for (let first = 0; first < jobs; first += chunk) {
    const size = Math.min(chunk, jobs - first)
    await client.runPromise(
      workload === undefined
        ? Client.enqueueMany(
            NoOp,
            Array.from({ length: size }, () => [] as const),
          )
        : Client.enqueueMany(
            workerOf[workload.kind],
            Array.from({ length: size }, () => [payload] as const),
          ),
    )
  }
}

export interface DrainOptions {
  readonly url: string
  readonly admin: Redis
  readonly jobs: number
  readonly concurrency: number
  readonly processes: number
  readonly settleMillis: number
  /** The worker processes' entry points, built to JavaScript (build.ts). */
  readonly bundles: WorkerBundles
  /** The jobs; the no-op job with no args when absent. */
  readonly workload?: Workload | undefined
}

export interface DrainResult extends ProcessDrainResult {
  readonly enqueuePerSecond: number
  /** Verk's Sidekiq counter `stat:processed` after shutdown (flushed once a second and on close). */
  readonly processedStat: number | undefined
}

const extraNodeFlags = (process.env.BENCH_VERK_NODE_FLAGS ?? "").split(" ").filter((flag) => flag !== "")

/** A worker process as `verk run` starts one (with `NodeFlags`), on the "default" queue. */
const spawnVerkWorker = (options: Pick<DrainOptions, "url" | "concurrency" | "bundles">, label: string) =>
  spawnWorker({
    label,
    command: process.execPath,
    // BENCH_VERK_NODE_FLAGS (space-separated) adds flags after them, to weigh a V8 flag.
    args: [...NodeFlags, ...extraNodeFlags, options.bundles.verk],
    cwd: root,
    env: {
      ...baseEnv(),
      REDIS_URL: options.url,
      VERK_QUEUES: `default:${options.concurrency}`,
      // No per-job log lines (the default logs a start and a done line per job at Info).
      VERK_START_JOB_LOG_LEVEL: "None",
      VERK_DONE_JOB_LOG_LEVEL: "None",
    },
    readyLine: /worker process ready: node /,
  })

/**
 * Enqueues `jobs` jobs (no-op ones, or the workload's) with `enqueueMany` from the bench process, pauses the queue (Verk's
 * own pause: the workers see it when they start), starts the worker processes, and resumes it
 * once they are ready: the drain runs from the resume to the last perform.
 */
export const enqueueAndDrain = async (options: DrainOptions): Promise<DrainResult> => {
  const client = clientRuntime(options.url)
  try {
    await start(client)
    const enqueueBegan = performance.now()
    await enqueueJobs(client, options.jobs, options.workload)
    const enqueueSeconds = (performance.now() - enqueueBegan) / 1000
    await client.runPromise(setPaused("default", true))
    const drained = await drainWithProcesses({
      label: `Verk drain (${options.processes} process(es))`,
      admin: options.admin,
      jobs: options.jobs,
      processes: options.processes,
      settleMillis: options.settleMillis,
      readyTimeoutMillis: 60_000,
      shutdownGraceMillis: 30_000,
      spawn: (i) => spawnVerkWorker(options, `verk-worker-${i + 1}`),
      release: () => client.runPromise(setPaused("default", false)),
    })
    const processed = await options.admin.get("stat:processed")
    return {
      ...drained,
      enqueuePerSecond: options.jobs / enqueueSeconds,
      processedStat: processed === null ? undefined : Number(processed),
    }
  } finally {
    await client.dispose()
  }
}

/**
 * The workload matrix's embedded drain: one process (verkEmbeddedMain.ts, run from source) enqueues
 * `jobs` no-op jobs with args of `argBytes` bytes on the paused queue, starts `Verk.layer` in
 * itself, and drains them once the bench resumes the queue.
 */
export const embeddedDrain = async (
  options: Pick<DrainOptions, "url" | "admin" | "jobs" | "concurrency" | "settleMillis"> & {
    readonly argBytes: number
  },
): Promise<ProcessDrainResult> => {
  const client = clientRuntime(options.url)
  try {
    await start(client)
    return await drainWithProcesses({
      label: "Verk embedded drain",
      admin: options.admin,
      jobs: options.jobs,
      processes: 1,
      settleMillis: options.settleMillis,
      readyTimeoutMillis: 120_000,
      shutdownGraceMillis: 30_000,
      spawn: () =>
        spawnWorker({
          label: "verk-embedded",
          command: process.execPath,
          args: ["--conditions=@verk/source", fileURLToPath(new URL("./verkEmbeddedMain.ts", import.meta.url))],
          cwd: root,
          env: {
            ...baseEnv(),
            REDIS_URL: options.url,
            BENCH_JOBS: String(options.jobs),
            BENCH_ARG_BYTES: String(options.argBytes),
            BENCH_CONCURRENCY: String(options.concurrency),
          },
          readyLine: /^BENCH ready pid=/,
        }),
      release: () => client.runPromise(setPaused("default", false)),
    })
  } finally {
    await client.dispose()
  }
}

/**
 * One worker process drains `stages[0]` jobs, then up to each next count in turn (the batches
 * enqueued while it idles with the queue paused), its RSS read after each stage.
 */
export const drainInStages = async (
  options: Omit<DrainOptions, "jobs" | "processes"> & { readonly stages: ReadonlyArray<number> },
): Promise<StagedDrainResult> => {
  const client = clientRuntime(options.url)
  try {
    await start(client)
    return await drainStaged({
      label: "Verk staged drain",
      admin: options.admin,
      stages: options.stages,
      spawn: () => spawnVerkWorker(options, "verk-worker-staged"),
      enqueue: (jobs) => enqueueJobs(client, jobs),
      hold: () => client.runPromise(setPaused("default", true)),
      release: () => client.runPromise(setPaused("default", false)),
      settleMillis: options.settleMillis,
      readyTimeoutMillis: 60_000,
      shutdownGraceMillis: 30_000,
    })
  } finally {
    await client.dispose()
  }
}

/** A worker process left idle `idleMillis` after it is ready: its RSS. */
export const idleRss = (options: Pick<DrainOptions, "url" | "concurrency" | "bundles">, idleMillis: number) =>
  idleRssAfter(() => spawnVerkWorker(options, "verk-worker-idle"), idleMillis, 60_000, 30_000)

export interface IdleResult {
  /** Enqueue call start → perform start, one job at a time on an idle queue (ms). */
  readonly pickup: ReadonlyArray<number>
  /** How long `Client.enqueue` itself took (ms). */
  readonly enqueueCall: ReadonlyArray<number>
  /** Raw LPUSH start → perform start (ms). */
  readonly foreign: ReadonlyArray<number>
  /** Perform start − scheduled time (ms). */
  readonly lateness: ReadonlyArray<number>
  readonly shutdownMillis: number
}

export interface IdleOptions {
  readonly pickupJobs: number
  readonly foreignJobs: number
  readonly scheduledJobs: number
  /** Scheduled jobs are spread evenly over [min, max] ms from the moment each is scheduled. */
  readonly scheduleWindow: readonly [number, number]
}

/** Latencies on an idle node: own pushes, foreign pushes, scheduled jobs. One runtime for all three. */
export const idleLatencies = async (url: string, admin: Redis, options: IdleOptions): Promise<IdleResult> => {
  const node = nodeRuntime(url, { default: 25 })
  await start(node)
  await sleep(500)

  const pickup: Array<number> = []
  const enqueueCall: Array<number> = []
  for (let i = 0; i < options.pickupJobs; i++) {
    const picked = deferred<number>("Verk pickup", 10_000)
    hooks.probe = () => picked.resolve(performance.now())
    const began = performance.now()
    await node.runPromise(Client.enqueue(Probe, [i]))
    enqueueCall.push(performance.now() - began)
    pickup.push((await picked.promise) - began)
    await sleep(10) // let the fetcher find the queue empty again and go idle
  }

  const foreign: Array<number> = []
  for (let i = 0; i < options.foreignJobs; i++) {
    // A random pause samples every phase of the poll cycle.
    await sleep(Math.random() * 1_000)
    const picked = deferred<number>("Verk foreign pickup", 10_000)
    hooks.probe = () => picked.resolve(performance.now())
    const began = performance.now()
    await admin.lpush("queue:default", sidekiqJob("Probe", [i]))
    foreign.push((await picked.promise) - began)
  }

  const lateness: Array<number> = []
  const allDue = deferred<void>("Verk scheduled", 30_000)
  hooks.probe = (dueAt) => {
    lateness.push(Date.now() - dueAt)
    if (lateness.length === options.scheduledJobs) allDue.resolve()
  }
  const [min, max] = options.scheduleWindow
  for (let i = 0; i < options.scheduledJobs; i++) {
    const dueAt = Date.now() + min + ((max - min) * i) / Math.max(1, options.scheduledJobs - 1)
    await node.runPromise(Client.schedule(Probe, [dueAt], DateTime.makeUnsafe(dueAt)))
  }
  await allDue.promise

  const shutdownMillis = await stop(node)
  hooks.probe = () => {}
  return { pickup, enqueueCall, foreign, lateness, shutdownMillis }
}

export interface IdleLoad {
  readonly queues: number
  readonly connections: number
  readonly commandsPerSecond: number
  readonly breakdown: string
}

/** An idle node on `queues` queues: its connections and the commands it sends per second. */
export const idleLoad = async (
  url: string,
  admin: Redis,
  queues: number,
  windowMillis: number,
  settleMillis: number,
): Promise<IdleLoad> => {
  const names = Object.fromEntries(Array.from({ length: queues }, (_, i) => [`idle-${i}`, 25]))
  const node = nodeRuntime(url, names)
  await start(node)
  await sleep(settleMillis) // past start-up (SCRIPT LOAD, first polls)
  const connections = await foreignConnections(admin)
  const { perSecond, breakdown } = await commandsDuring(admin, windowMillis)
  await stop(node)
  return { queues, connections, commandsPerSecond: perSecond, breakdown }
}
