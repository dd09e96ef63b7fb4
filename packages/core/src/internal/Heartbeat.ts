/**
 * This node's heartbeat: Verk's TTL key (its expiry tells other nodes to recover our jobs) and
 * Sidekiq's process registry (`processes`, `<identity>` with `rss`, the running jobs in
 * `<identity>:work` for Sidekiq 7+ and `<identity>:workers` for Sidekiq 6), so that Sidekiq's own
 * tools (its web UI's Busy page) see our nodes and their jobs. The time to live is three intervals: a node survives two missed beats.
 *
 * It also tells recovery when another node's expired heartbeat can be believed: after an outage
 * every node's heartbeat may have expired at once, so only while ours is fresh and a heartbeat's
 * lifetime after we saw our own lapse.
 */
import { hostname } from "node:os"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import { type PoolSetting, Settings } from "../Settings.ts"
import { NodeStore } from "../Store.ts"
import type { Running } from "./Lease.ts"
import * as Loop from "./Loop.ts"
import { Node } from "./Node.ts"
import { ProgressBoard, ProgressInterval } from "./ProgressBoard.ts"

export const ttlFor = (interval: Duration.Duration): Duration.Duration => Duration.times(interval, 3)

const isJsonObject = (text: string): boolean => {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === "object" && value !== null && !Array.isArray(value)
  } catch {
    return false
  }
}

/**
 * The job's last progress report goes in as `progress` (`{ percent, message }`, a field Sidekiq
 * does not read). The job's own text goes into the entry as it is (not parsed and re-serialised: that would round
 * big numbers and cost stack on deep nesting); a payload that is not a JSON object is left out.
 */
const sidekiqWork = (jobs: ReadonlyArray<Running>): ReadonlyArray<readonly [string, string]> =>
  jobs.flatMap((job, index) => {
    if (!isJsonObject(job.raw)) return []
    const progress = job.progress === undefined ? "" : `,"progress":${JSON.stringify(job.progress)}`
    const entry = `{"queue":${JSON.stringify(job.queue)},"payload":${job.raw},"run_at":${Math.floor(job.startedMillis / 1000)}${progress}}`
    return [[`w${index}`, entry] as const]
  })

/**
 * The pools in the process info (a field Sidekiq does not read): each one's name, queues, weights
 * (weighted pools only) and slots, so that other processes can show them.
 */
const poolsInfo = (pools: ReadonlyArray<PoolSetting>) =>
  pools.map(({ name, queues, weights, concurrency }) =>
    weights === undefined ? { name, queues, concurrency } : { name, queues, weights, concurrency },
  )

/**
 * The pools as Sidekiq's capsules (`capsules`, Sidekiq 8's Busy page reads it), each with Sidekiq's
 * mode and weights: a strict order weighs every queue 0, equal weights are Sidekiq's `random`.
 */
const capsulesInfo = (pools: ReadonlyArray<PoolSetting>) =>
  Object.fromEntries(
    pools.map(({ name, queues, weights, concurrency }) => {
      const mode = weights === undefined ? "strict" : weights.every((weight) => weight === 1) ? "random" : "weighted"
      const queueWeights = Object.fromEntries(queues.map((queue, index) => [queue, weights?.[index] ?? 0]))
      return [name, { concurrency, mode, weights: queueWeights }]
    }),
  )

/** Beats once; the caller repeats it. `pools` are the pools running now. */
export const beat = Effect.fn("Heartbeat.beat")(function* (
  running: ReadonlyArray<Running>,
  startedMillis: number,
  pools: ReadonlyArray<PoolSetting>,
) {
  const store = yield* NodeStore
  const node = yield* Node
  const settings = yield* Settings
  const now = yield* Clock.currentTimeMillis
  const capsules = capsulesInfo(pools)
  const info = JSON.stringify({
    hostname: hostname(),
    started_at: startedMillis / 1000,
    pid: process.pid,
    tag: "verk-effect",
    concurrency: pools.reduce((sum, pool) => sum + pool.concurrency, 0),
    queues: pools.flatMap((pool) => pool.queues),
    capsules,
    // Sidekiq 7's field, one weights object per capsule.
    weights: Object.values(capsules).map((capsule) => capsule.weights),
    pools: poolsInfo(pools),
    labels: ["verk-effect"],
    identity: node.id,
  })
  yield* store.heartbeat({
    node: node.id,
    ttlMillis: Duration.toMillis(ttlFor(settings.heartbeatInterval)),
    now,
    info,
    busy: running.length,
    // Sidekiq's `rss` is in KB; memoryUsage.rss() is one cheap system call, once per beat.
    rss: Math.round(process.memoryUsage.rss() / 1024),
    work: sidekiqWork(running),
  })
  return now
})

export interface Liveness {
  /** When the last heartbeat reached the store (epoch millis); undefined before the first. */
  readonly lastBeat: Effect.Effect<number | undefined>
  readonly lastError: Effect.Effect<string | undefined>
  /** Whether another node's expired heartbeat may be believed now. */
  readonly trusted: Effect.Effect<boolean>
  /** Whether the heartbeat loop runs, for health checks. */
  readonly alive: Effect.Effect<boolean>
}

/**
 * Beats once now, then every interval in the scope's lifetime; `running` lists the running jobs,
 * `pools` the pools running.
 * A progress report asks for a beat sooner (at most one per `ProgressInterval`).
 */
export const run = Effect.fn("Heartbeat.run")(function* (
  running: Effect.Effect<ReadonlyArray<Running>>,
  pools: Effect.Effect<ReadonlyArray<PoolSetting>>,
): Effect.fn.Return<Liveness, never, NodeStore | Node | Settings | ProgressBoard | Scope.Scope> {
  const settings = yield* Settings
  const startedMillis = yield* Clock.currentTimeMillis
  const ttlMillis = Duration.toMillis(ttlFor(settings.heartbeatInterval))
  const lastBeat = yield* Ref.make<number | undefined>(undefined)
  const lastError = yield* Ref.make<string | undefined>(undefined)
  let failing = false
  let trustFrom = 0
  // One line when the store goes away, one when it is back (Loop.outage).
  const outage = Loop.outage("Heartbeat")

  // One beat at a time: a beat's list of jobs must not land after a later one's.
  const oneAtATime = yield* Semaphore.make(1)
  const once = running.pipe(
    Effect.flatMap((jobs) => Effect.flatMap(pools, (live) => beat(jobs, startedMillis, live))),
    // When it reached the store, not when it set out: a beat can hang while Redis is away.
    Effect.andThen(Clock.currentTimeMillis),
    Effect.flatMap((at) => Ref.getAndSet(lastBeat, at).pipe(Effect.map((previous) => ({ at, previous })))),
    Effect.map(({ at, previous }) => {
      // Our own heartbeat lapsed (failed, or hung while Redis was away): so may everyone's.
      if (failing || (previous !== undefined && at - previous > ttlMillis)) trustFrom = at + ttlMillis
      failing = false
      return at
    }),
    Effect.tap(() => outage.succeeded),
    Effect.catch((error) =>
      Effect.sync(() => {
        failing = true
      }).pipe(Effect.andThen(Ref.set(lastError, error.message)), Effect.andThen(outage.failed(error))),
    ),
    oneAtATime.withPermit,
  )

  yield* once
  const loop = yield* Loop.forkScoped("heartbeat", Effect.repeat(once, Schedule.spaced(settings.heartbeatInterval)))
  const board = yield* ProgressBoard
  yield* Loop.forkScoped(
    "progress",
    Effect.forever(board.changed.pipe(Effect.andThen(once), Effect.andThen(Effect.sleep(ProgressInterval)))),
  )
  return {
    lastBeat: Ref.get(lastBeat),
    lastError: Ref.get(lastError),
    alive: loop.alive,
    trusted: Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const beatAt = yield* Ref.get(lastBeat)
      return !failing && now >= trustFrom && beatAt !== undefined && now - beatAt < ttlMillis
    }),
  }
})
