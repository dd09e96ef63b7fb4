/**
 * Moving due jobs from the `schedule` and `retry` sets to their queues.
 *
 * The store hands out due members and moves them atomically; the job JSON is handled here, in one
 * place, so both stores stamp `enqueued_at` the same way. A due member that cannot run (invalid
 * JSON, no class or queue) goes to the dead set wrapped with its reason, so it never blocks the set.
 */
import { Clock, Duration, Effect, Result } from "effect"
import * as Job from "./Job.ts"
import { Settings } from "./Settings.ts"
import { type Promotion, Store } from "./Store.ts"
import { WakeUp } from "./WakeUp.ts"

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

/**
 * The scheduler loop: promote what is due, then sleep until the next due job, a notification that
 * the sets changed, or the poll interval (for jobs scheduled by foreign clients), whichever comes
 * first. Time comes only from `Clock`, so `TestClock.adjust` drives it. Several nodes running it
 * at once move each job once.
 */
export const run = Effect.fn("Scheduler.run")(function* () {
  const store = yield* Store
  const wakeUp = yield* WakeUp
  const { pollInterval } = yield* Settings
  const poll = Duration.toMillis(pollInterval)

  const promoteSet = (set: "schedule" | "retry", nowMillis: number) =>
    promoteDue(set, nowMillis).pipe(
      Effect.tap(({ malformed }) =>
        Effect.forEach(malformed, (error) =>
          Effect.logWarning(`A due job in ${set} is malformed and went to dead: ${error.reason}`),
        ),
      ),
    )

  const tick = Effect.gen(function* () {
    yield* wakeUp.scheduled.clear
    const now = yield* Clock.currentTimeMillis
    let next = now + poll
    // Both sets at once: ioredis pipelines the two reads into one round trip.
    const earliest = yield* Effect.all(
      { schedule: store.earliest("schedule"), retry: store.earliest("retry") },
      { concurrency: "unbounded" },
    )
    for (const set of ["schedule", "retry"] as const) {
      const first = earliest[set]
      if (first === undefined) continue
      const dueMillis = first * 1000
      if (dueMillis <= now) {
        yield* promoteSet(set, now)
        next = now
      } else next = Math.min(next, dueMillis)
    }
    return next
  }).pipe(
    Effect.catch((error) =>
      Effect.logWarning(`Scheduler could not read the store, retrying: ${error.message}`).pipe(
        Effect.andThen(Clock.currentTimeMillis),
        Effect.map((now) => now + poll),
      ),
    ),
  )

  while (true) {
    // `next` is an instant: the time the store calls took is not slept again.
    const next = yield* tick
    const wait = next - (yield* Clock.currentTimeMillis)
    if (wait > 0) yield* wakeUp.scheduled.wait(Duration.millis(wait))
  }
})
