/**
 * `/metrics`: Prometheus' text format, from Effect Metrics (effect/observability's PrometheusMetrics).
 *
 * Counters and histograms are this process's: the jobs it ran (`verk_jobs_started_total`,
 * `verk_jobs_processed_total` (every run, as Sidekiq counts), `verk_jobs_failed_total`, by queue and
 * class; `verk_job_duration_seconds`, `verk_job_queue_latency_seconds`) and its busy workers per
 * queue (`verk_queue_busy`). Gauges of the whole Redis (each served queue's size and latency, the
 * retry, scheduled and dead sets, busy workers and processes in Sidekiq's registry) are read from
 * the store when scraped: a scrape costs a few round trips, and nothing runs between scrapes.
 * Labels are bounded: a class no worker is registered for, a queue no live node serves, count
 * under `other`.
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
 * The `queue` label of the store's gauges for a queue no live node serves: they are summed (depth)
 * or their longest wait taken (latency) under this one label, so that pushes to made-up queue
 * names cannot grow the series without bound.
 */
export const OtherQueue = "other"

/**
 * Reads the store's gauges into the metric registry. Queues a live node serves (Sidekiq's process
 * registry) have a series each, the others share `other`. A series seen before and gone now (a
 * queue cleared and deleted, or no longer served) is set to 0 rather than left at its last value.
 */
export const makeRefresh = Effect.gen(function* () {
  const store = yield* Store.Store
  let known = new Set<string>()
  return Effect.gen(function* () {
    const live = yield* Inspection.processes
    const served = new Set(live.flatMap((process) => process.queues))
    const names = new Set([...(yield* store.queues), ...(yield* store.pausedQueues)])
    const depth = new Map<string, number>()
    const latency = new Map<string, number>()
    for (const queue of names) {
      const label = served.has(queue) ? queue : OtherQueue
      depth.set(label, (depth.get(label) ?? 0) + (yield* store.queueSize(queue)))
      latency.set(label, Math.max(latency.get(label) ?? 0, yield* Inspection.latency(queue)))
    }
    for (const queue of known) {
      if (depth.has(queue)) continue
      depth.set(queue, 0)
      latency.set(queue, 0)
    }
    for (const [queue, size] of depth) {
      yield* Metric.update(Metric.withAttributes(Stats.queueDepth, { queue }), size)
      yield* Metric.update(Metric.withAttributes(queueLatency, { queue }), latency.get(queue) ?? 0)
    }
    known = new Set(depth.keys())
    yield* Metric.update(retrySize, yield* store.setSize("retry"))
    yield* Metric.update(scheduledSize, yield* store.setSize("schedule"))
    yield* Metric.update(deadSize, yield* store.setSize("dead"))
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
