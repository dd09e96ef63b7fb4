/**
 * Job statistics: Sidekiq's Redis counters (`stat:processed`, `stat:failed` and per-day keys) and
 * Sidekiq 7's per-class execution metrics per minute (ExecutionMetrics.ts), added up in memory and
 * flushed once per interval (a round trip per day, one for the metrics) rather than per job; and
 * Effect Metrics (started/processed/failed by queue and class, duration and queue latency
 * histograms in seconds, queue depth and busy gauges; classes no worker is registered for count
 * under `other`) for an exporter to serve (`@verk/node`'s `/metrics`).
 *
 * "Processed" means what it means to Sidekiq (6.4 and later): every run, failures included;
 * "failed" counts the failed runs among them. So 10 runs with 3 failures are 10 and 3.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import * as ExecutionMetrics from "./ExecutionMetrics.ts"
import * as Loop from "./internal/Loop.ts"
import { Settings } from "./Settings.ts"
import { SetStore } from "./Store.ts"

/** Options of the per-job metrics: the exported metrics below, and one per queue and class (see `makeTagged`). */
const processedOptions = {
  description: "Job runs, failed ones included (Sidekiq's processed)",
  incremental: true,
} as const
const startedOptions = { description: "Job runs started", incremental: true } as const
const failedOptions = { description: "Job runs that failed (each retry counts)", incremental: true } as const
// Seconds, Prometheus' base unit: 1 ms to about 2 min, and 1 ms to about 2.3 h.
const durationOptions = {
  description: "How long perform took, in seconds",
  boundaries: Metric.exponentialBoundaries({ start: 0.001, factor: 2, count: 18 }),
} as const
const latencyOptions = {
  description: "How long a job waited in its queue, from enqueued_at to its start, in seconds",
  boundaries: Metric.exponentialBoundaries({ start: 0.001, factor: 2, count: 24 }),
} as const

/**
 * The `class` label of a run whose class no worker is registered for: the job path counts those
 * under this one label, so that made-up class names cannot grow the series without bound.
 */
export const OtherLabel = "other"

/** Job runs, failed ones included (Sidekiq's processed); the layer also counts them per queue and class. */
export const processedTotal = Metric.counter("verk_jobs_processed_total", processedOptions)
/** Job runs started; per queue and class too. */
export const startedTotal = Metric.counter("verk_jobs_started_total", startedOptions)
/** Job runs that failed (each retry counts); per queue and class too. */
export const failedTotal = Metric.counter("verk_jobs_failed_total", failedOptions)
/** How long `perform` took, in seconds; per queue and class too. */
export const jobDuration = Metric.histogram("verk_job_duration_seconds", durationOptions)
/** How long a job waited in its queue, from `enqueued_at` to its start, in seconds. */
export const queueLatency = Metric.histogram("verk_job_queue_latency_seconds", latencyOptions)
/** Jobs waiting in a queue, by `queue` (set by the queue poll and when `/metrics` is read). */
export const queueDepth = Metric.gauge("verk_queue_depth", { description: "Jobs waiting in the queue" })
/** Jobs of a queue running on this node, by `queue`. */
export const busySlots = Metric.gauge("verk_queue_busy", { description: "Jobs running on this node" })

const DayMillis = 86_400_000

/** Sidekiq's day keys are UTC dates (YYYY-MM-DD); the last one is kept, as this runs for every job. */
let cachedDay = { start: 0, end: 0, key: "1970-01-01" }
const utcDay = (millis: number) => {
  if (millis < cachedDay.start || millis >= cachedDay.end) {
    const start = millis - (((millis % DayMillis) + DayMillis) % DayMillis)
    cachedDay = { start, end: start + DayMillis, key: new Date(millis).toISOString().slice(0, 10) }
  }
  return cachedDay.key
}

/** Counts not yet flushed, by day. Changed in place: each change is one synchronous step. */
type Pending = Map<string, { processed: number; failed: number }>

/**
 * Counts job runs: Sidekiq's Redis counters and the Effect Metrics above. `className` is the
 * metrics' `class` label: the job path gives a registered worker's name or `OtherLabel`.
 */
export class Stats extends Context.Service<
  Stats,
  {
    /**
     * A run starts, `latencyMillis` after it was enqueued (undefined when unknown). Synchronous, no
     * Effect: it runs for every job, inside the processor's own step.
     */
    readonly recordStartedUnsafe: (queue: string, className: string, latencyMillis: number | undefined) => void
    /** A run that succeeded, at `nowMillis`: counts as processed. Synchronous, for the same reason. */
    readonly recordProcessedUnsafe: (
      queue: string,
      className: string,
      durationMillis: number,
      nowMillis: number,
    ) => void
    /** A run that failed, at `nowMillis`: counts as processed and as failed. Synchronous, like `recordProcessedUnsafe`. */
    readonly recordFailedUnsafe: (queue: string, className: string, durationMillis: number, nowMillis: number) => void
    /** Write what is pending now (also done every second and when the layer closes). */
    readonly flush: Effect.Effect<void>
  }
>()("@verk/core/Stats") {}

/** Counts jobs into Sidekiq's counters (flushed every `statsFlushInterval`) and Effect Metrics. */
export const layer: Layer.Layer<Stats, never, SetStore | Settings> = Layer.effect(
  Stats,
  Effect.gen(function* () {
    const store = yield* SetStore
    const { statsFlushInterval } = yield* Settings
    let pending: Pending = new Map()
    // Per class and minute (Sidekiq 7's metrics): one write per flush, whatever the jobs and classes.
    const perClass = ExecutionMetrics.makeAccumulator()
    const addUnsafe = (day: string, processed: number, failed: number) => {
      const totals = pending.get(day)
      if (totals === undefined) pending.set(day, { processed, failed })
      else {
        totals.processed += processed
        totals.failed += failed
      }
    }
    const add = (day: string, processed: number, failed: number) => Effect.sync(() => addUnsafe(day, processed, failed))

    // Tagged metrics per queue and class, made once and found without building a key: this runs
    // twice for every job.
    const tagged = new Map<string, Map<string, ReturnType<typeof makeTagged>>>()
    // The series of the metrics above with these attributes, made as metrics of their own: a
    // metric `withAttributes` adds them to the context on every update.
    const makeTagged = (attributes: { readonly queue: string; readonly class: string }) => ({
      started: Metric.counter("verk_jobs_started_total", { ...startedOptions, attributes }),
      latency: Metric.histogram("verk_job_queue_latency_seconds", { ...latencyOptions, attributes }),
      processed: Metric.counter("verk_jobs_processed_total", { ...processedOptions, attributes }),
      failed: Metric.counter("verk_jobs_failed_total", { ...failedOptions, attributes }),
      duration: Metric.histogram("verk_job_duration_seconds", { ...durationOptions, attributes }),
    })
    const metricsFor = (queue: string, className: string) => {
      let byClass = tagged.get(queue)
      if (byClass === undefined) {
        byClass = new Map()
        tagged.set(queue, byClass)
      }
      let metrics = byClass.get(className)
      if (metrics === undefined) {
        metrics = makeTagged({ queue, class: className })
        byClass.set(className, metrics)
      }
      return metrics
    }

    // Metrics are updated against the layer's context, not the job fiber's: a metric with attributes
    // adds them to the context it is given, a copy of the whole context when that one is deep.
    const context = yield* Effect.context<never>()
    // One step, no generator: this runs for every job.
    const countUnsafe = (
      kind: "processed" | "failed",
      queue: string,
      className: string,
      durationMillis: number,
      nowMillis: number,
    ) => {
      addUnsafe(utcDay(nowMillis), 1, kind === "failed" ? 1 : 0)
      perClass.recordUnsafe(className, kind === "failed", durationMillis, nowMillis)
      const metrics = metricsFor(queue, className)
      metrics.processed.updateUnsafe(1, context)
      if (kind === "failed") metrics.failed.updateUnsafe(1, context)
      metrics.duration.updateUnsafe(durationMillis / 1000, context)
    }

    // A failed write (or one that died) puts its counts back, so the next flush carries them. A
    // store that is away is reported once, and once when it is back (Loop.outage).
    const outage = Loop.outage("Stats flush")
    // What a failed write reports once its counts are back: an interruption goes on (it ends the
    // flush), a store failure is the outage, anything else is logged.
    const failedWrite = (what: string, cause: Cause.Cause<unknown>): Effect.Effect<void> =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>)
        : Cause.hasFails(cause)
          ? outage.failed({ message: Cause.pretty(cause).split("\n")[0] ?? "unknown cause" })
          : Effect.logError(`Could not flush ${what}`, cause)
    // A batch of metrics that could not be written is put back the same way.
    const flushMetrics = Effect.suspend(() => {
      const minutes = perClass.take()
      return minutes.length === 0
        ? Effect.void
        : store
            .recordMetrics(minutes)
            .pipe(
              Effect.catchCause((cause) =>
                Effect.sync(() => perClass.putBackUnsafe(minutes)).pipe(
                  Effect.andThen(failedWrite("job metrics", cause)),
                ),
              ),
            )
    })
    const flush = Effect.gen(function* () {
      yield* flushMetrics
      const batch = pending
      pending = new Map()
      for (const [day, { processed, failed }] of batch) {
        yield* store.incrementStats(processed, failed, day).pipe(
          Effect.andThen(outage.succeeded),
          Effect.catchCause((cause) =>
            add(day, processed, failed).pipe(Effect.andThen(failedWrite("job stats", cause))),
          ),
        )
      }
    })

    yield* Loop.forkScoped("stats flush", Effect.repeat(flush, Schedule.spaced(statsFlushInterval)))
    yield* Effect.addFinalizer(() => flush)
    const recordStartedUnsafe = (queue: string, className: string, latencyMillis: number | undefined) => {
      const metrics = metricsFor(queue, className)
      metrics.started.updateUnsafe(1, context)
      if (latencyMillis !== undefined) metrics.latency.updateUnsafe(latencyMillis / 1000, context)
    }
    return {
      recordStartedUnsafe,
      recordProcessedUnsafe: (queue, className, durationMillis, nowMillis) =>
        countUnsafe("processed", queue, className, durationMillis, nowMillis),
      recordFailedUnsafe: (queue, className, durationMillis, nowMillis) =>
        countUnsafe("failed", queue, className, durationMillis, nowMillis),
      flush,
    }
  }),
)
