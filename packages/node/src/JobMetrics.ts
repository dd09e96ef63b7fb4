/**
 * The per-class execution metrics as Verk Web serves them (its Metrics pages and `/api/metrics`):
 * from the minutes the nodes' stats flushes write (core's `ExecutionMetrics`), each class's runs,
 * failures, failure rate and durations (mean, and p50/p95 estimated from the histogram) over the
 * last hour or eight hours, and one class's minutes. Shapes are Schemas, served as they are.
 */
import { ExecutionMetrics, type Store } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** The windows the pages offer: the last hour, and the last 8 hours (all that is kept). */
export const Period = Schema.Literals(["1h", "8h"])
export type Period = typeof Period.Type

/** Minutes in a period. */
export const periodMinutes = (period: Period): number => (period === "8h" ? 480 : 60)

const Millis = Schema.NullOr(Schema.Number)

/** A class over a window: runs (failures included), failures, and durations of its successful runs in ms. */
export const ClassMetrics = Schema.Struct({
  class: Schema.String,
  runs: Schema.Number,
  failures: Schema.Number,
  /** failures / runs, 0 to 1. */
  failureRate: Schema.Number,
  /** Mean duration of a successful run, ms; null without one. */
  meanMillis: Millis,
  /** Estimated from the duration histogram: off by at most the width of its bucket. */
  p50Millis: Millis,
  p95Millis: Millis,
})
export type ClassMetrics = typeof ClassMetrics.Type

/** Every class that ran in the window, most runs first. */
export const MetricsSummary = Schema.Struct({
  period: Period,
  minutes: Schema.Number,
  classes: Schema.Array(ClassMetrics),
})
export type MetricsSummary = typeof MetricsSummary.Type

/** One minute of a class. */
export const MinuteMetrics = Schema.Struct({
  /** The minute's start, ISO 8601 UTC. */
  minute: Schema.String,
  runs: Schema.Number,
  failures: Schema.Number,
  p95Millis: Millis,
})
export type MinuteMetrics = typeof MinuteMetrics.Type

/** One class over the window: its totals and every minute, oldest first. */
export const ClassDetail = Schema.Struct({
  period: Period,
  totals: ClassMetrics,
  minutes: Schema.Array(MinuteMetrics),
})
export type ClassDetail = typeof ClassDetail.Type

const view = (summary: ExecutionMetrics.ClassSummary): ClassMetrics => ({
  class: summary.className,
  runs: summary.runs,
  failures: summary.failures,
  failureRate: summary.runs === 0 ? 0 : summary.failures / summary.runs,
  meanMillis: summary.mean ?? null,
  p50Millis: summary.p50 ?? null,
  p95Millis: summary.p95 ?? null,
})

/** Every class's metrics over the period. */
export const summary: (period?: Period) => Effect.Effect<MetricsSummary, Store.StoreError, Store.SetStore> = Effect.fn(
  "JobMetrics.summary",
)(function* (period: Period = "1h") {
  const minutes = periodMinutes(period)
  const classes = yield* ExecutionMetrics.classes(minutes)
  return { period, minutes, classes: classes.map(view) } satisfies MetricsSummary
})

/** One class's metrics over the period, minute by minute. */
export const classDetail: (
  className: string,
  period?: Period,
) => Effect.Effect<ClassDetail, Store.StoreError, Store.SetStore> = Effect.fn("JobMetrics.classDetail")(function* (
  className: string,
  period: Period = "1h",
) {
  const { series, totals } = yield* ExecutionMetrics.classMinutes(className, periodMinutes(period))
  return {
    period,
    totals: view(
      totals ?? {
        className,
        runs: 0,
        failures: 0,
        millis: 0,
        mean: undefined,
        p50: undefined,
        p95: undefined,
        buckets: [],
      },
    ),
    minutes: series.map((minute) => ({
      minute: new Date(minute.minute).toISOString(),
      runs: minute.runs,
      failures: minute.failures,
      p95Millis: ExecutionMetrics.percentile(minute.buckets, 0.95) ?? null,
    })),
  } satisfies ClassDetail
})
