/**
 * The Verk side of the bench: each phase builds its runtime with `ManagedRuntime` (so the bench can
 * drive it from plain async code), measures, and disposes it, which closes every scope the
 * runtime opened (queues, scheduler, stats flusher, Redis connections).
 */
import { Client, Verk, Worker } from "@verk/core"
import { RedisStore } from "@verk/redis"
import { DateTime, Effect, Layer, ManagedRuntime, References, Schema } from "effect"
import type { Redis } from "ioredis"
import { commandsDuring, cpuMeter, deferred, foreignConnections, sidekiqJob, sleep } from "./support.ts"

/** What the running phase wants to hear from `perform`; each phase sets its own. */
export const hooks = {
  noOp: (): void => {},
  probe: (_value: number): void => {},
}

export const NoOp = Worker.make({
  name: "NoOp",
  args: Schema.Tuple([]),
  perform: () => Effect.sync(() => hooks.noOp()),
})

/** Carries a number (an index or a due time) to the perform hook. */
export const Probe = Worker.make({
  name: "Probe",
  args: Schema.Tuple([Schema.Number]),
  perform: ([value]) => Effect.sync(() => hooks.probe(value)),
})

/**
 * The per-job "start"/"done" lines are Info: a node that logs at Warn drops them without printing
 * 100,000 lines into the table. The runtime's settings stay the defaults.
 */
const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

const clientRuntime = (url: string) =>
  ManagedRuntime.make(Client.layer.pipe(Layer.provide(RedisStore.layer({ url })), Layer.provide(quiet)))

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

export interface DrainResult {
  readonly enqueuePerSecond: number
  readonly drainPerSecond: number
  readonly drainSeconds: number
  readonly startupMillis: number
  readonly shutdownMillis: number
  readonly performed: number
  /** CPU seconds used from runtime start to the last perform, by this process and by redis-server. */
  readonly nodeCpuSeconds: number
  readonly redisCpuSeconds: number
  /** Verk's Sidekiq counter `stat:processed` after shutdown (flushed once a second and on close). */
  readonly processedStat: number | undefined
}

/** Enqueue `jobs` no-op jobs with `enqueueMany`, then time a fresh node draining them. */
export const enqueueAndDrain = async (
  url: string,
  admin: Redis,
  jobs: number,
  concurrency: number,
): Promise<DrainResult> => {
  const client = clientRuntime(url)
  await start(client)
  const argsList = Array.from({ length: jobs }, () => [] as const)
  const enqueueBegan = performance.now()
  await client.runPromise(Client.enqueueMany(NoOp, argsList))
  const enqueueSeconds = (performance.now() - enqueueBegan) / 1000
  await client.dispose()

  let performed = 0
  let finishedAt = 0
  const all = deferred<void>("Verk drain", 150_000)
  hooks.noOp = () => {
    performed++
    if (performed === jobs) {
      finishedAt = performance.now()
      all.resolve()
    }
  }
  const node = nodeRuntime(url, { default: concurrency })
  const cpu = await cpuMeter(admin)
  const began = performance.now()
  const startupMillis = await start(node)
  await all.promise
  const drainSeconds = (finishedAt - began) / 1000
  const used = await cpu.end()
  await sleep(200) // anything performed twice would show up here
  const shutdownMillis = await stop(node)
  hooks.noOp = () => {}
  const processed = await admin.get("stat:processed")
  return {
    nodeCpuSeconds: used.node,
    redisCpuSeconds: used.redis,
    processedStat: processed === null ? undefined : Number(processed),
    enqueuePerSecond: jobs / enqueueSeconds,
    drainPerSecond: jobs / drainSeconds,
    drainSeconds,
    startupMillis,
    shutdownMillis,
    performed,
  }
}

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
export const idleLoad = async (url: string, admin: Redis, queues: number, windowMillis: number): Promise<IdleLoad> => {
  const names = Object.fromEntries(Array.from({ length: queues }, (_, i) => [`idle-${i}`, 25]))
  const node = nodeRuntime(url, names)
  await start(node)
  await sleep(1_500) // past start-up (SCRIPT LOAD, first polls)
  const connections = await foreignConnections(admin)
  const { perSecond, breakdown } = await commandsDuring(admin, windowMillis)
  await stop(node)
  return { queues, connections, commandsPerSecond: perSecond, breakdown }
}
