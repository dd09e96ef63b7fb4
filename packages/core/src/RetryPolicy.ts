/**
 * When a failed job runs again.
 *
 * A policy is either an Effect `Schedule` (its N-th delay is the delay before retry N; a schedule that
 * ends means "no more retries") or Verk's `retryAt(failedAt, count)`, which gets Verk's 1-based count
 * (first retry: 1) and returns when to run.
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"

/** Verk's form of a policy: when retry `count` (1-based) of a job that failed at `failedAt` runs. */
export interface RetryAt {
  readonly retryAt: (failedAt: DateTime.Utc, count: number) => DateTime.Utc
}

/** When a failed job runs again: an Effect `Schedule` of delays, or a `RetryAt` (see the module's comment). */
export type RetryPolicy = Schedule.Schedule<unknown, number> | RetryAt

/** Sidekiq's and Verk's default number of retries. */
export const DefaultMaxRetries = 25

/**
 * Sidekiq's backoff: `count^4 + 15 + rand(10) * (count + 1)` seconds, where `count` is Sidekiq's
 * 0-based retry count, which is exactly the recurrence number `Schedule.forever` outputs.
 */
export const sidekiqBackoff: Schedule.Schedule<number> = Schedule.forever.pipe(
  Schedule.addDelay(({ output: count }) =>
    Effect.map(Random.nextIntBetween(0, 9), (jitter) => Duration.seconds(count ** 4 + 15 + jitter * (count + 1))),
  ),
)

const isRetryAt = (policy: RetryPolicy): policy is RetryAt => typeof (policy as Partial<RetryAt>).retryAt === "function"

/**
 * When retry number `count` (1-based) of a job that failed at `failedAt` should run, or
 * `undefined` when the policy has no retry left. Schedules are replayed from their start, because
 * consecutive retries of one job can happen in different processes.
 */
export const nextRunAt = Effect.fn("RetryPolicy.nextRunAt")(function* (
  policy: RetryPolicy,
  failedAt: DateTime.Utc,
  count: number,
) {
  if (isRetryAt(policy)) return policy.retryAt(failedAt, count)
  const step = yield* Schedule.toStep(policy)
  let now = 0
  let delay: Duration.Duration | undefined
  for (let attempt = 1; attempt <= count; attempt++) {
    const result = yield* Pull.catchDone(step(now, attempt), () => Effect.undefined)
    if (result === undefined) return undefined
    delay = result[1]
    now += Duration.toMillis(delay)
  }
  return delay === undefined ? failedAt : DateTime.addDuration(failedAt, delay)
})
