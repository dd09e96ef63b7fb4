/**
 * The main thread's half of the event-loop watchdog (HealthServer.ts): a short timer that bumps a
 * tick in the shared buffer, which the health thread (HealthThread.ts) watches, and that notices
 * when it ran late by more than the limit: the loop was blocked. It then logs how long, and which
 * jobs were running. A plain Node timer, unref'd, so that it fires in the timers phase right
 * after the blocking task, before the I/O that ends the job that blocked: the job is still
 * listed as running then.
 */
import { Verk } from "@verk/core"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { Slot } from "./HealthThread.ts"

/** The tick's period for a limit: a tenth of it, between 10 and 100 ms. */
export const tickMillisFor = (limitMillis: number): number => Math.min(100, Math.max(10, Math.floor(limitMillis / 10)))

const describeJob = (job: Verk.RunningJob): string =>
  `${job.className ?? "?"} (jid ${job.jid ?? "?"}, queue ${job.queue})`

/** The line logged once the loop runs again. */
export const blockedLine = (blockedMillis: number, limitMillis: number, jobs: ReadonlyArray<Verk.RunningJob>) =>
  `event loop was blocked for ${blockedMillis} ms (limit ${limitMillis} ms) while running ` +
  (jobs.length === 0 ? "no job" : jobs.map(describeJob).join(", "))

/** Ticks until the scope closes; logs each block longer than `limitMillis` once the loop is back. */
export const start = (options: {
  readonly buffer: SharedArrayBuffer
  readonly limitMillis: number
  readonly tickMillis: number
  readonly clock: Clock.Clock
}) =>
  Effect.gen(function* () {
    const { buffer, limitMillis, tickMillis, clock } = options
    const verk = yield* Verk.Verk
    const context = yield* Effect.context<never>()
    const runSync = Effect.runSyncExitWith(context)
    const runFork = Effect.runForkWith(context)
    const control = new Int32Array(buffer, 0, 4)
    // The gap by the monotonic clock (a wall clock that jumps is no block); jobs' starts by the wall's.
    const monotonicMillis = () => Number(clock.monotonicTimeNanosUnsafe() / 1_000_000n)
    let last = monotonicMillis()
    let lastWall = clock.currentTimeMillisUnsafe()
    const tick = () => {
      Atomics.add(control, Slot.tick, 1)
      const now = monotonicMillis()
      // At most a tick more than the block itself (it began between two ticks).
      const blockedMillis = now - last
      const before = lastWall
      last = now
      lastWall = clock.currentTimeMillisUnsafe()
      if (blockedMillis <= limitMillis) return
      // The jobs that had started when the loop stopped (those started since began after it).
      const running = runSync(verk.running)
      const jobs = Exit.isSuccess(running)
        ? running.value.filter((job) => job.startedMillis <= before + tickMillis)
        : []
      runFork(
        Effect.logWarning(blockedLine(blockedMillis, limitMillis, jobs)).pipe(
          Effect.annotateLogs({ blocked_ms: blockedMillis, jids: jobs.map((job) => job.jid ?? "?").join(",") }),
        ),
      )
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => setInterval(tick, tickMillis).unref()),
      (timer) => Effect.sync(() => clearInterval(timer)),
    )
  })
