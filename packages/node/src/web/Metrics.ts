/**
 * `/metrics`: Prometheus' text format, from Effect Metrics (effect/observability's PrometheusMetrics).
 *
 * Counters and histograms are this process's: the jobs it ran (`verk_jobs_started_total`,
 * `verk_jobs_processed_total` (every run, as Sidekiq counts), `verk_jobs_failed_total`, by queue and
 * class; `verk_job_duration_ms`, `verk_job_queue_latency_ms`) and its busy workers per queue
 * (`verk_queue_busy`). Gauges of the whole Redis (each queue's size and latency, the retry,
 * scheduled and dead sets, busy workers and processes in Sidekiq's registry) are read from the store
 * when scraped: a scrape costs a few round trips, and nothing runs between scrapes.
 *
 * `layer()` adds the route to an `effect/http` router on its own; Verk Web mounts it beside its pages.
 */
import { Inspection, Stats, Store } from "@verk/core"
import * as Effect from "effect/Effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import type * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import { PrometheusMetrics } from "effect/observability"

/** Seconds the next job of each queue has waited, by `queue`. */
export const queueLatency = Metric.gauge("verk_queue_latency_seconds", {
  description: "Seconds the next job of the queue has waited (Sidekiq's latency)",
})
/** Jobs in the retry set. */
export const retrySize = Metric.gauge("verk_retry_size", { description: "Jobs in the retry set" })
/** Jobs in the schedule set. */
export const scheduledSize = Metric.gauge("verk_scheduled_size", { description: "Jobs in the schedule set" })
/** Jobs in the dead set. */
export const deadSize = Metric.gauge("verk_dead_size", { description: "Jobs in the dead set" })
/** Jobs running on every live node (Sidekiq's process registry); `Stats.busySlots` is one node's. */
export const runningJobs = Metric.gauge("verk_busy_workers", {
  description: "Jobs running on every live node, as Sidekiq's process registry says",
})
/** Live nodes in Sidekiq's process registry. */
export const processes = Metric.gauge("verk_processes", { description: "Live nodes in Sidekiq's process registry" })

/** Options of `layer`. */
export interface Options {
  /** Where the route is, `/metrics` by default. */
  readonly path?: `/${string}` | undefined
}

/**
 * Reads the store's gauges into the metric registry. A queue seen before and gone now (cleared and
 * deleted) is set to 0 rather than left at its last size.
 */
export const makeRefresh = Effect.gen(function* () {
  const store = yield* Store.Store
  let known = new Set<string>()
  return Effect.gen(function* () {
    const names = new Set([...(yield* store.queues), ...(yield* store.pausedQueues)])
    for (const queue of names) {
      const size = yield* store.queueSize(queue)
      const latency = yield* Inspection.latency(queue)
      yield* Metric.update(Metric.withAttributes(Stats.queueDepth, { queue }), size)
      yield* Metric.update(Metric.withAttributes(queueLatency, { queue }), latency)
    }
    for (const queue of known) {
      if (names.has(queue)) continue
      yield* Metric.update(Metric.withAttributes(Stats.queueDepth, { queue }), 0)
      yield* Metric.update(Metric.withAttributes(queueLatency, { queue }), 0)
    }
    known = names
    yield* Metric.update(retrySize, yield* store.setSize("retry"))
    yield* Metric.update(scheduledSize, yield* store.setSize("schedule"))
    yield* Metric.update(deadSize, yield* store.setSize("dead"))
    const live = yield* Inspection.processes
    yield* Metric.update(
      runningJobs,
      live.reduce((sum, process) => sum + process.busy, 0),
    )
    yield* Metric.update(processes, live.length)
  }).pipe(Effect.provideContext(Store.context(store)))
})

/** The scrape's response: the store's gauges refreshed, then every metric of the registry. */
export const makeHandler = Effect.map(makeRefresh, (refresh) =>
  refresh.pipe(
    Effect.andThen(PrometheusMetrics.format()),
    Effect.map((body) => HttpServerResponse.text(body, { contentType: "text/plain; version=0.0.4; charset=utf-8" })),
    // Stale gauges would look like a quiet system: a scrape that cannot read the store fails.
    Effect.catchTag("StoreError", (error) =>
      Effect.as(
        Effect.logWarning(`/metrics could not read the store: ${error.message}`),
        HttpServerResponse.text(`cannot read the store: ${error.message}\n`, { status: 503 }),
      ),
    ),
  ),
)

/** Adds `GET /metrics` to the application's router; it reads the `Store` it is built with. */
export const layer = (options: Options = {}): Layer.Layer<never, never, HttpRouter.HttpRouter | Store.Store> =>
  HttpRouter.use((router) =>
    Effect.flatMap(makeHandler, (handler) => router.add("GET", options.path ?? "/metrics", handler)),
  )
