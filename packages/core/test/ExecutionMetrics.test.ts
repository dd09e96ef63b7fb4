import { assert, describe, it } from "@effect/vitest"
import * as ExecutionMetrics from "../src/ExecutionMetrics.ts"

const { BucketLimits, bucketOf, percentile } = ExecutionMetrics

/** A histogram of `durations`, as the nodes record it. */
const histogram = (durations: ReadonlyArray<number>) => {
  const buckets = BucketLimits.map(() => 0)
  for (const millis of durations) buckets[bucketOf(millis)]! += 1
  return buckets
}

/** Nearest-rank quantile of a sample. */
const exact = (durations: ReadonlyArray<number>, fraction: number) => {
  const sorted = [...durations].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)]!
}

describe("ExecutionMetrics", () => {
  it("counts a run in the first bucket whose limit is above it, as Sidekiq 7 does", () => {
    assert.strictEqual(bucketOf(0), 0)
    assert.strictEqual(bucketOf(19), 0)
    assert.strictEqual(bucketOf(20), 1)
    assert.strictEqual(bucketOf(280), 7)
    assert.strictEqual(bucketOf(334_999), 24)
    assert.strictEqual(bucketOf(335_000), 25)
    assert.strictEqual(bucketOf(10 * 3_600_000), 25)
    assert.strictEqual(BucketLimits.length, 26)
  })

  it("estimates p50 and p95 within the bucket the true quantile is in", () => {
    let seed = 42
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    for (const spread of [30, 400, 5_000, 60_000]) {
      const durations = Array.from({ length: 500 }, () => Math.round(random() ** 2 * spread))
      const buckets = histogram(durations)
      for (const fraction of [0.5, 0.95]) {
        const estimate = percentile(buckets, fraction)!
        const truth = exact(durations, fraction)
        const bucket = bucketOf(truth)
        const lower = bucket === 0 ? 0 : BucketLimits[bucket - 1]!
        assert.isAtLeast(estimate, lower, `p${fraction * 100} of spread ${spread}`)
        assert.isAtMost(estimate, BucketLimits[bucket]!, `p${fraction * 100} of spread ${spread}`)
      }
    }
  })

  it("has no percentile without a successful run, and answers the slow bucket's lower limit", () => {
    assert.isUndefined(percentile(histogram([]), 0.5))
    assert.strictEqual(percentile(histogram([400_000, 500_000]), 0.95), 335_000)
  })

  it("summarizes minutes per class: a mean of the successful runs only, most runs first", () => {
    const minute = (className: string, runs: number, failures: number, millis: number, durations: Array<number>) => ({
      minute: 0,
      className,
      runs,
      failures,
      millis,
      buckets: histogram(durations),
    })
    const [slow, quick] = ExecutionMetrics.summarize([
      minute("Quick", 2, 0, 10, [4, 6]),
      minute("Slow", 3, 1, 300, [100, 200]),
      minute("Slow", 1, 0, 150, [150]),
    ])
    assert.deepStrictEqual([slow!.className, slow!.runs, slow!.failures, slow!.mean], ["Slow", 4, 1, 150])
    assert.deepStrictEqual([quick!.className, quick!.runs, quick!.mean], ["Quick", 2, 5])
  })
})
