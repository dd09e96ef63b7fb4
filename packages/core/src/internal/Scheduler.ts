/**
 * Moving due jobs from the `schedule` and `retry` sets to their queues.
 *
 * The store hands out due members and moves them atomically; the job text is handled here, in one
 * place, so both stores stamp `enqueued_at` the same way: patched into the member's own text, which
 * otherwise moves byte for byte. A due member that cannot run (invalid JSON, no class or queue, or
 * anything else that fails on it) goes to the dead set through DeadLetter with its reason, so it
 * never blocks the set, and the rest are promoted.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Job from "../Job.ts"
import { Settings } from "../Settings.ts"
import { type Promotion, SetStore } from "../Store.ts"
import { DeadLetter } from "./DeadLetter.ts"
import * as Loop from "./Loop.ts"
import { WakeUp } from "./WakeUp.ts"

export interface PromoteResult {
  /** How many members left the set: to their queue, or to dead for the malformed ones. */
  readonly moved: number
  /** Due payloads sent to dead because they could not run, with why. */
  readonly malformed: ReadonlyArray<Job.MalformedJob>
}

/** Promotions per store round trip. */
export const PromoteBatchSize = 100

/** The promotion of one due member, or why it cannot run. Total: nothing a member holds throws. */
export const toPromotion = (raw: string, nowMillis: number): Result.Result<Promotion, Job.MalformedJob> => {
  try {
    const decoded = Job.decodeResult(raw)
    if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
    const payload = Job.patch(raw, Job.enqueuedChanges(nowMillis))
    return Result.isSuccess(payload)
      ? Result.succeed({ raw, payload: payload.success, queue: decoded.success.queue })
      : Result.fail(new Job.MalformedJob({ raw, reason: payload.failure }))
  } catch (defect) {
    return Result.fail(new Job.MalformedJob({ raw, reason: `cannot be promoted: ${String(defect)}` }))
  }
}

/** Promote every job of `set` due at `nowMillis`, a batch at a time. */
export const promoteDue = Effect.fn("Scheduler.promoteDue")(function* (set: "schedule" | "retry", nowMillis: number) {
  const store = yield* SetStore
  const deadLetter = yield* DeadLetter
  const now = Job.toEpochSeconds(nowMillis)
  let moved = 0
  const malformed: Array<Job.MalformedJob> = []
  while (true) {
    const due = yield* store.due(set, now, PromoteBatchSize)
    if (due.length === 0) break
    const promotions: Array<Promotion> = []
    const cannotRun: Array<Job.MalformedJob> = []
    for (const raw of due) {
      const result = toPromotion(raw, nowMillis)
      if (Result.isSuccess(result)) promotions.push(result.success)
      else cannotRun.push(result.failure)
    }
    let movedNow = yield* store.promote(set, promotions, now)
    for (const error of cannotRun) {
      const buried = yield* deadLetter.bury({
        from: { _tag: "Set", set },
        raw: error.raw,
        queue: Job.queueOf(error.raw) ?? set,
        failure: { errorClass: "MalformedJob", message: error.reason },
        reason: error.message,
        nowMillis,
      })
      if (buried.moved) movedNow++
    }
    moved += movedNow
    malformed.push(...cannotRun)
    // A short batch means nothing more is due; a full one may have more behind it, unless none of
    // it moved (members another node is moving, or that cannot be removed): then stop, not spin.
    if (due.length < PromoteBatchSize || movedNow === 0) break
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
  const store = yield* SetStore
  const wakeUp = yield* WakeUp
  const { pollInterval } = yield* Settings
  const poll = Duration.toMillis(pollInterval)
  // One line when the store goes away, one when it is back (Loop.outage).
  const outage = Loop.outage("Scheduler")

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
        // Look again at once only if something moved: a due member that never leaves the set
        // must not make this loop spin.
        const { moved } = yield* promoteDue(set, now)
        if (moved > 0) next = now
      } else next = Math.min(next, dueMillis)
    }
    yield* outage.succeeded
    return next
  }).pipe(
    Effect.catch((error) =>
      outage.failed(error).pipe(
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
