/**
 * Per-class execution metrics in Sidekiq 7's keys (see Keys.ts `metricsMinute` and
 * `metricsHistogram`): a flush's batch written by one script, a window read back by another in two
 * round trips (the minutes' hashes, then the histograms of the classes found), 1,000 keys a call.
 * In the cluster scheme these keys carry the `{verk}` tag with the other shared registries, so each
 * script's keys are in one slot.
 */
import { ExecutionMetrics, Job, Store } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Integer } from "./Replies.ts"
import * as Scripts from "./Scripts.ts"
import type { Operations } from "./StoreContext.ts"

/** `<class>|<metric>` fields of a minute's hash, by class (a name may hold `|`; the metric is last). */
const byClass = (fields: ReadonlyArray<string>) => {
  const pairs = Array.from(
    { length: Math.floor(fields.length / 2) },
    (_, i) => [fields[2 * i]!, fields[2 * i + 1]!] as const,
  )
  const classes = new Map<string, { runs: number; failures: number; millis: number }>()
  for (const [field, value] of pairs) {
    const bar = field.lastIndexOf("|")
    if (bar < 0) continue
    const className = field.slice(0, bar)
    const metric = field.slice(bar + 1)
    let found = classes.get(className)
    if (found === undefined) {
      found = { runs: 0, failures: 0, millis: 0 }
      classes.set(className, found)
    }
    const count = Number(value)
    if (metric === "p") found.runs = count
    else if (metric === "f") found.failures = count
    else if (metric === "ms") found.millis = count
  }
  return classes
}

/** Keys per read script call: each call blocks Redis for about a millisecond per few hundred keys. */
const ReadChunk = 1_000

const Reply = Schema.Array(Schema.Array(Schema.Union([Schema.String, Schema.Number])))

export const make: Operations<"recordMetrics" | "metrics"> = ({ keys, redis, run }) => {
  /** The replies for `minuteKeys` (their fields) or `histogramKeys`, chunked, in order. */
  const read = (kind: "minutes" | "histograms", names: ReadonlyArray<string>) =>
    Effect.forEach(
      Array.from({ length: Math.ceil(names.length / ReadChunk) }, (_, i) =>
        names.slice(i * ReadChunk, (i + 1) * ReadChunk),
      ),
      (chunk) =>
        Effect.suspend(() =>
          redis.eval(Scripts.metricsRead)(
            kind === "minutes" ? { minutes: chunk, histograms: [] } : { minutes: [], histograms: chunk },
            ExecutionMetrics.BucketLimits.length,
          ),
        ).pipe(run("metrics", Reply)),
      { concurrency: 4 },
    ).pipe(Effect.map((parts) => parts.flat()))
  return {
    recordMetrics: (batch) => {
      if (batch.length === 0) return Effect.void
      const minutes = [...new Set(batch.map((entry) => entry.minute))]
      const minuteFields = minutes.map((minute) =>
        batch
          .filter((entry) => entry.minute === minute)
          .flatMap((entry) => [
            `${entry.className}|p`,
            entry.runs,
            `${entry.className}|f`,
            entry.failures,
            `${entry.className}|ms`,
            entry.millis,
          ]),
      )
      const histogramFields = batch.map((entry) =>
        entry.buckets.flatMap((count, index) => (count > 0 ? [index, count] : [])),
      )
      return Effect.suspend(() =>
        redis.eval(Scripts.metrics)(
          {
            // ioredis may send this very command twice: the token makes it count once.
            token: keys.statsToken(Job.makeJid()),
            minutes: minutes.map(keys.metricsMinute),
            histograms: batch.map((entry) => keys.metricsHistogram(entry.className, entry.minute)),
          },
          Store.EnqueueTokenSeconds,
          ExecutionMetrics.KeptSeconds,
          [...minuteFields, ...histogramFields],
        ),
      ).pipe(run("recordMetrics", Integer), Effect.asVoid)
    },
    metrics: (minutes, className) =>
      Effect.gen(function* () {
        const hashes = yield* read("minutes", minutes.map(keys.metricsMinute))
        const found = minutes.flatMap((minute, index) =>
          [...byClass((hashes[index] ?? []).map(String))]
            .filter(([name]) => className === undefined || name === className)
            .map(([name, totals]) => ({ minute, className: name, ...totals })),
        )
        const histograms = yield* read(
          "histograms",
          found.map((entry) => keys.metricsHistogram(entry.className, entry.minute)),
        )
        return found.map((entry, index) => ({
          ...entry,
          buckets: ExecutionMetrics.BucketLimits.map((_, bucket) => Number(histograms[index]?.[bucket] ?? 0)),
        }))
      }),
  }
}
