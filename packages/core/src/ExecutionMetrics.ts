/**
 * Per-class execution metrics, as Sidekiq 7 keeps them for its Metrics page: per class and UTC
 * minute, the runs (failures included), the failures, the milliseconds of the successful runs and a
 * histogram of their durations in fixed buckets. Nodes add them up in memory (`Accumulator`) and the
 * stats flush writes them in one round trip (`SetStore.recordMetrics`); `classes` and `classMinutes`
 * read a window back, with p50/p95 estimated from the histogram.
 *
 * As in Sidekiq, a failed run counts as a run and a failure but adds no duration: failures take
 * unpredictable times, and the durations say how long the work takes when it works.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { type ClassMinute, SetStore } from "./Store.ts"

/**
 * Upper limits of the duration buckets, in milliseconds (a run of `d` ms counts in the first bucket
 * whose limit is above `d`): Sidekiq 7's, so its page reads our histograms. The last is unbounded.
 */
export const BucketLimits: ReadonlyArray<number> = [
  20,
  30,
  45,
  65,
  100,
  150,
  225,
  335,
  500,
  750,
  1100,
  1700,
  2500,
  3800,
  5750,
  8500,
  13000,
  20000,
  30000,
  45000,
  65000,
  100000,
  150000,
  225000,
  335000,
  Number.POSITIVE_INFINITY,
]

/** A histogram bucket counts at most this (Sidekiq's unsigned 16-bit fields, saturating). */
export const BucketMax = 65_535

/** How long the minutes are kept, in seconds: 8 hours, as Sidekiq does. */
export const KeptSeconds = 8 * 60 * 60

/** The last minutes a page may ask for: what is kept. */
export const MaxMinutes = KeptSeconds / 60

const MinuteMillis = 60_000

/** The start of the UTC minute holding `millis`. */
export const minuteOf = (millis: number): number => millis - (((millis % MinuteMillis) + MinuteMillis) % MinuteMillis)

/** The bucket a run of `millis` counts in. */
export const bucketOf = (millis: number): number => {
  for (let index = 0; index < BucketLimits.length; index++) if (millis < BucketLimits[index]!) return index
  return BucketLimits.length - 1
}

/**
 * The duration below which `fraction` (0.5 for p50) of the counted runs fall, estimated from a
 * histogram: linear within the bucket the rank falls in, so off by at most that bucket's width (the
 * unbounded last bucket answers its lower limit). Undefined when the histogram is empty.
 */
export const percentile = (buckets: ReadonlyArray<number>, fraction: number): number | undefined => {
  const total = buckets.reduce((sum, count) => sum + count, 0)
  if (total === 0) return undefined
  const rank = fraction * total
  let below = 0
  for (let index = 0; index < buckets.length; index++) {
    const count = buckets[index] ?? 0
    if (count > 0 && below + count >= rank) {
      const lower = index === 0 ? 0 : BucketLimits[index - 1]!
      const upper = BucketLimits[index]!
      if (!Number.isFinite(upper)) return lower
      return lower + ((rank - below) / count) * (upper - lower)
    }
    below += count
  }
  return BucketLimits[BucketLimits.length - 2]
}

/** Bucket counts added up, each saturating at `BucketMax` as Redis' fields do. */
const addBuckets = (into: Array<number>, from: ReadonlyArray<number>) => {
  for (let index = 0; index < BucketLimits.length; index++)
    into[index] = Math.min(BucketMax, (into[index] ?? 0) + (from[index] ?? 0))
}

/**
 * What the job path adds up between two flushes, per minute and class. Changed in place, each
 * change one synchronous step (it runs for every job); `take` hands the batch over and starts anew.
 */
export const makeAccumulator = () => {
  let pending = new Map<
    string,
    { minute: number; className: string; runs: number; failures: number; millis: number; buckets: Array<number> }
  >()
  const entry = (minute: number, className: string) => {
    const key = `${minute}|${className}`
    let found = pending.get(key)
    if (found === undefined) {
      found = { minute, className, runs: 0, failures: 0, millis: 0, buckets: BucketLimits.map(() => 0) }
      pending.set(key, found)
    }
    return found
  }
  return {
    /** A run of `className` that ended at `nowMillis`, after `durationMillis`, and failed or not. */
    recordUnsafe: (className: string, failed: boolean, durationMillis: number, nowMillis: number) => {
      const found = entry(minuteOf(nowMillis), className)
      found.runs++
      if (failed) found.failures++
      else {
        const millis = Math.max(0, Math.round(durationMillis))
        found.millis += millis
        const bucket = bucketOf(millis)
        found.buckets[bucket] = Math.min(BucketMax, found.buckets[bucket]! + 1)
      }
    },
    /** The pending minutes, handed over: the accumulator starts empty. */
    take: (): ReadonlyArray<ClassMinute> => {
      const batch = [...pending.values()]
      pending = new Map()
      return batch
    },
    /** A batch that could not be written, added back so that the next flush carries it. */
    putBackUnsafe: (batch: ReadonlyArray<ClassMinute>) => {
      for (const minute of batch) {
        const found = entry(minute.minute, minute.className)
        found.runs += minute.runs
        found.failures += minute.failures
        found.millis += minute.millis
        addBuckets(found.buckets, minute.buckets)
      }
    },
  }
}

/** A class's metrics over a window: its totals and the duration estimates. */
export interface ClassSummary {
  readonly className: string
  readonly runs: number
  readonly failures: number
  /** Milliseconds of the successful runs. */
  readonly millis: number
  /** Mean duration of a successful run, milliseconds (undefined without one). */
  readonly mean: number | undefined
  /** Estimated from the histogram (see `percentile`), milliseconds. */
  readonly p50: number | undefined
  readonly p95: number | undefined
  readonly buckets: ReadonlyArray<number>
}

/** Minutes of one or several classes added up per class, by class name. */
export const summarize = (minutes: ReadonlyArray<ClassMinute>): ReadonlyArray<ClassSummary> => {
  const byClass = new Map<string, { runs: number; failures: number; millis: number; buckets: Array<number> }>()
  for (const minute of minutes) {
    let found = byClass.get(minute.className)
    if (found === undefined) {
      found = { runs: 0, failures: 0, millis: 0, buckets: BucketLimits.map(() => 0) }
      byClass.set(minute.className, found)
    }
    found.runs += minute.runs
    found.failures += minute.failures
    found.millis += minute.millis
    for (let index = 0; index < BucketLimits.length; index++) found.buckets[index]! += minute.buckets[index] ?? 0
  }
  return [...byClass.entries()]
    .map(([className, { runs, failures, millis, buckets }]) => {
      const succeeded = runs - failures
      return {
        className,
        runs,
        failures,
        millis,
        mean: succeeded > 0 ? millis / succeeded : undefined,
        p50: percentile(buckets, 0.5),
        p95: percentile(buckets, 0.95),
        buckets,
      }
    })
    .sort((a, b) => b.runs - a.runs || a.className.localeCompare(b.className))
}

/** The starts of the last `count` minutes up to `now`, newest first (capped at what is kept). */
export const lastMinutes = (now: number, count: number): ReadonlyArray<number> => {
  const last = minuteOf(now)
  const kept = Math.max(1, Math.min(MaxMinutes, Math.floor(count)))
  return Array.from({ length: kept }, (_, back) => last - back * MinuteMillis)
}

/** Every class's metrics over the last `minutes` minutes (by the Clock), most runs first. */
export const classes = Effect.fn("ExecutionMetrics.classes")(function* (minutes: number) {
  const store = yield* SetStore
  const now = yield* Clock.currentTimeMillis
  return summarize(yield* store.metrics(lastMinutes(now, minutes)))
})

/**
 * One class's last `minutes` minutes, oldest first, every minute present (zeros where it did not
 * run), and its totals over them.
 */
export const classMinutes = Effect.fn("ExecutionMetrics.classMinutes")(function* (className: string, minutes: number) {
  const store = yield* SetStore
  const now = yield* Clock.currentTimeMillis
  const window = lastMinutes(now, minutes)
  const found = yield* store.metrics(window, className)
  const byMinute = new Map(found.map((minute) => [minute.minute, minute]))
  const series: ReadonlyArray<ClassMinute> = [...window].reverse().map(
    (minute) =>
      byMinute.get(minute) ?? {
        minute,
        className,
        runs: 0,
        failures: 0,
        millis: 0,
        buckets: BucketLimits.map(() => 0),
      },
  )
  const totals = summarize(found)[0]
  return { series, totals }
})
