/**
 * Moving due jobs from the `schedule` and `retry` sets to their queues.
 *
 * The store hands out due members and moves them atomically; the job JSON is handled here, in one
 * place, so both stores stamp `enqueued_at` the same way. A due member that cannot run (invalid
 * JSON, no class or queue) goes to the dead set wrapped with its reason, so it never blocks the set.
 */
import { Effect, Result } from "effect"
import * as Job from "./Job.ts"
import { type Promotion, Store } from "./Store.ts"

export interface PromoteResult {
  /** How many members left the set: to their queue, or to dead for the malformed ones. */
  readonly moved: number
  /** Due payloads sent to dead because they could not run, with why. */
  readonly malformed: ReadonlyArray<Job.MalformedJob>
}

/** Promotions per store round trip. */
export const PromoteBatchSize = 100

const toPromotion = (raw: string, nowMillis: number): Result.Result<Promotion, Job.MalformedJob> =>
  Effect.runSync(
    Job.decode(raw).pipe(
      Effect.map((job) => ({ raw, payload: Job.encode(Job.stampEnqueued(job, nowMillis)), queue: job.queue })),
      Effect.result,
    ),
  )

/** Promote every job of `set` due at `nowMillis`, a batch at a time. */
export const promoteDue = Effect.fn("Scheduler.promoteDue")(function* (set: "schedule" | "retry", nowMillis: number) {
  const store = yield* Store
  const now = Job.toEpochSeconds(nowMillis)
  let moved = 0
  const malformed: Array<Job.MalformedJob> = []
  while (true) {
    const due = yield* store.due(set, now, PromoteBatchSize)
    if (due.length === 0) break
    const promotions = due.map((raw) => {
      const result = toPromotion(raw, nowMillis)
      if (Result.isSuccess(result)) return result.success
      malformed.push(result.failure)
      const queue = Job.queueOf(raw) ?? set
      return { raw, payload: Job.malformedDeadEntry(raw, queue, result.failure.reason, nowMillis), queue: undefined }
    })
    moved += yield* store.promote(set, promotions, now)
    // A short batch means nothing more is due; a full one may have more behind it.
    if (due.length < PromoteBatchSize) break
  }
  return { moved, malformed } satisfies PromoteResult
})
