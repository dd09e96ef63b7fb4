/**
 * The in-memory store's per-class execution metrics (`SetStore.recordMetrics` and `metrics`): per
 * minute and class, added up as Redis adds them (histogram buckets saturate), and forgotten after
 * `ExecutionMetrics.KeptSeconds` as Redis' keys expire.
 */
import * as ExecutionMetrics from "../ExecutionMetrics.ts"
import type { ClassMinute } from "../Store.ts"

/** Minutes by start, then classes by name. */
export const make = () => {
  const minutes = new Map<number, Map<string, ClassMinute>>()
  const record = (batch: ReadonlyArray<ClassMinute>, now: number) => {
    for (const entry of batch) {
      let classes = minutes.get(entry.minute)
      if (classes === undefined) {
        classes = new Map()
        minutes.set(entry.minute, classes)
      }
      const before = classes.get(entry.className)
      classes.set(
        entry.className,
        before === undefined
          ? { ...entry, buckets: entry.buckets.map((count) => Math.min(ExecutionMetrics.BucketMax, count)) }
          : {
              ...before,
              runs: before.runs + entry.runs,
              failures: before.failures + entry.failures,
              millis: before.millis + entry.millis,
              buckets: before.buckets.map((count, index) =>
                Math.min(ExecutionMetrics.BucketMax, count + (entry.buckets[index] ?? 0)),
              ),
            },
      )
    }
    const oldest = now - ExecutionMetrics.KeptSeconds * 1000
    for (const minute of minutes.keys()) if (minute < oldest) minutes.delete(minute)
  }
  const read = (wanted: ReadonlyArray<number>, className?: string): ReadonlyArray<ClassMinute> =>
    wanted.flatMap((minute) => {
      const classes = minutes.get(minute)
      if (classes === undefined) return []
      if (className === undefined) return [...classes.values()]
      const found = classes.get(className)
      return found === undefined ? [] : [found]
    })
  return { record, read }
}
