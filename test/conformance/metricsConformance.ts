/**
 * The store conformance suite of the per-class execution metrics (`SetStore.recordMetrics` and
 * `metrics`): batches add up per minute and class, histogram buckets saturate at 65535 as Sidekiq's
 * u16 fields do, and a window reads back every class or one.
 */
import { assert, describe } from "@effect/vitest"
import { Effect } from "effect"
import * as ExecutionMetrics from "../../packages/core/src/ExecutionMetrics.ts"
import { type ClassMinute, SetStore, Store } from "../../packages/core/src/Store.ts"
import { roleSuite } from "./conformanceSupport.ts"

const minute = Date.UTC(2026, 11, 7, 7, 5)
const next = minute + 60_000

const entry = (at: number, className: string, runs: number, failures: number, bucketCounts: Record<number, number>) => {
  const buckets = ExecutionMetrics.BucketLimits.map((_, index) => bucketCounts[index] ?? 0)
  return { minute: at, className, runs, failures, millis: 10 * (runs - failures), buckets } satisfies ClassMinute
}

const sorted = (minutes: ReadonlyArray<ClassMinute>) =>
  [...minutes].sort((a, b) => a.minute - b.minute || a.className.localeCompare(b.className))

export const metricsConformance = roleSuite("execution metrics", SetStore, ["recordMetrics", "metrics"], ({ test }) => {
  describe("recordMetrics and metrics", () => {
    test(
      "add up per minute and class, and read back every class or one",
      Effect.gen(function* () {
        const store = yield* Store
        assert.deepStrictEqual(yield* store.metrics([minute, next]), [])
        yield* store.recordMetrics([
          entry(minute, "Mailer", 3, 1, { 0: 2 }),
          entry(minute, "Report|v2", 1, 0, { 7: 1 }),
        ])
        yield* store.recordMetrics([entry(minute, "Mailer", 2, 0, { 0: 1, 25: 1 }), entry(next, "Mailer", 1, 1, {})])
        assert.deepStrictEqual(sorted(yield* store.metrics([minute, next])), [
          entry(minute, "Mailer", 5, 1, { 0: 3, 25: 1 }),
          entry(minute, "Report|v2", 1, 0, { 7: 1 }),
          entry(next, "Mailer", 1, 1, {}),
        ])
        assert.deepStrictEqual(sorted(yield* store.metrics([minute, next], "Mailer")), [
          entry(minute, "Mailer", 5, 1, { 0: 3, 25: 1 }),
          entry(next, "Mailer", 1, 1, {}),
        ])
        assert.deepStrictEqual(yield* store.metrics([next], "Report|v2"), [])
        assert.deepStrictEqual(yield* store.metrics([next + 60_000]), [])
      }),
    )

    test(
      "a histogram bucket saturates at 65535",
      Effect.gen(function* () {
        const store = yield* Store
        yield* store.recordMetrics([entry(minute, "Busy", 60_000, 0, { 3: 60_000 })])
        yield* store.recordMetrics([entry(minute, "Busy", 60_000, 0, { 3: 60_000 })])
        const [found] = yield* store.metrics([minute], "Busy")
        assert.strictEqual(found?.runs, 120_000)
        assert.strictEqual(found?.buckets[3], ExecutionMetrics.BucketMax)
      }),
    )
  })
})
