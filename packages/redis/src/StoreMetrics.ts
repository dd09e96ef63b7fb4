/**
 * Per-class execution metrics in Sidekiq 7's keys (see Keys.ts `metricsMinute` and
 * `metricsHistogram`): a flush's batch written by one script, a window read back with one command
 * per minute and per class and minute, all sent at once. In the cluster scheme these keys carry the
 * `{verk}` tag with the other shared registries, so the one script writes them all in one slot.
 */
import { ExecutionMetrics, Job, Store } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Integer } from "./Replies.ts"
import * as Scripts from "./Scripts.ts"
import type { Operations } from "./StoreContext.ts"

const Fields = Schema.Union([Schema.Array(Schema.String), Schema.Record(Schema.String, Schema.String)])
const Buckets = Schema.Array(Schema.NullOr(Schema.Number))

/** `<class>|<metric>` fields of a minute's hash, by class (a name may hold `|`; the metric is last). */
const byClass = (fields: typeof Fields.Type) => {
  const pairs: Array<readonly [string, string]> = Array.isArray(fields)
    ? Array.from({ length: Math.floor(fields.length / 2) }, (_, i) => [fields[2 * i]!, fields[2 * i + 1]!] as const)
    : Object.entries(fields)
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

const histogramFetch = ExecutionMetrics.BucketLimits.flatMap((_, index) => ["GET", "u16", `#${index}`])

export const make: Operations<"recordMetrics" | "metrics"> = ({ keys, redis, run, sendFor }) => {
  const histogram = (className: string, minute: number) =>
    sendFor(Buckets)("metrics", "BITFIELD", keys.metricsHistogram(className, minute), ...histogramFetch).pipe(
      Effect.map((counts) => counts.map((count) => count ?? 0)),
    )
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
      Effect.forEach(
        minutes,
        (minute) =>
          Effect.gen(function* () {
            const key = keys.metricsMinute(minute)
            const classes =
              className === undefined
                ? byClass(yield* sendFor(Fields)("metrics", "HGETALL", key))
                : yield* sendFor(Schema.Array(Schema.NullOr(Schema.String)))(
                    "metrics",
                    "HMGET",
                    key,
                    `${className}|p`,
                    `${className}|f`,
                    `${className}|ms`,
                  ).pipe(
                    Effect.map(([runs, failures, millis]) =>
                      runs == null
                        ? new Map()
                        : new Map([
                            [
                              className,
                              { runs: Number(runs), failures: Number(failures ?? 0), millis: Number(millis ?? 0) },
                            ],
                          ]),
                    ),
                  )
            return yield* Effect.forEach(
              [...classes],
              ([name, totals]) =>
                Effect.map(histogram(name, minute), (buckets) => ({ minute, className: name, ...totals, buckets })),
              { concurrency: "unbounded" },
            )
          }),
        // Sent at once: ioredis writes them one after the other without waiting (a pipeline).
        { concurrency: "unbounded" },
      ).pipe(Effect.map((found) => found.flat())),
  }
}
