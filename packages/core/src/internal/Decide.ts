/**
 * What a job's run means for the store, as a pure function: the processor performs the job, then
 * asks `decide`, then writes what it says (ack, retry, or the dead set through DeadLetter), in one
 * atomic step with the job's removal from in-progress. No store, no clock, no randomness here: the
 * caller passes the time and, for a failure, when the worker's retry policy would run it again, and
 * whether the failure is worth retrying at all (`notRetryable`, which asks the worker's `retryable`).
 */
import * as Cause from "effect/Cause"
import type * as DateTime from "effect/DateTime"
import * as Exit from "effect/Exit"
import * as Job from "../Job.ts"
import type { RegisteredWorker } from "../Worker.ts"
import { InvalidJobArgs, Unrecoverable } from "../WorkerDefinition.ts"

/** The job succeeded: remove it from in-progress. */
export interface Ack {
  readonly _tag: "Ack"
}

/** The job failed and runs again at `at`: its failure is patched into its text (`changes`). */
export interface Retry {
  readonly _tag: "Retry"
  readonly at: DateTime.Utc
  readonly failure: Job.Failure
  readonly failures: number
  readonly changes: Job.Changes
}

/** The job failed for the last time: it goes to the dead set. */
export interface Dead {
  readonly _tag: "Dead"
  readonly reason: string
  readonly failure: Job.Failure
  readonly failures: number
}

/** Shutdown interrupted it: nothing is written, the job stays in progress and goes back. */
export interface Interrupted {
  readonly _tag: "Interrupted"
}

/**
 * The job was cancelled (see Cancel.ts) and did not succeed: it leaves in-progress, as an ack
 * does, and nothing else is written (no retry, no dead entry).
 */
export interface Cancelled {
  readonly _tag: "Cancelled"
}

/**
 * The job was over one of its limits (see Limits.ts, decided by Admission.ts before it started):
 * it goes to `schedule` at `at` (epoch seconds), its payload unchanged, and leaves in-progress.
 */
export interface Snooze {
  readonly _tag: "Snooze"
  readonly at: number
  /** The budget it was over (the limit's name, and its key). */
  readonly limit: string
}

export type Decision = Ack | Retry | Dead | Interrupted | Cancelled | Snooze

const ack: Ack = { _tag: "Ack" }
const interrupted: Interrupted = { _tag: "Interrupted" }
const cancelled: Cancelled = { _tag: "Cancelled" }

export interface Input {
  readonly job: Job.Job
  /** `undefined` when no worker handles the job's class (its exit then says `UnknownJobClass`). */
  readonly worker: RegisteredWorker | undefined
  readonly exit: Exit.Exit<unknown, unknown>
  /** Epoch milliseconds: when the run ended. */
  readonly nowMillis: number
  /** The node's retry limit for jobs and workers that set none. */
  readonly maxRetries: number
  /**
   * When the worker's retry policy runs retry number `policyQuestion(...)`, `undefined` when the
   * policy has none left; only read when that question was asked.
   */
  readonly retryAt: DateTime.Utc | undefined
  /** What the failure writes into the job (error class, message, backtrace). */
  readonly describe: (cause: Cause.Cause<unknown>) => Job.Failure
  /** Why retrying cannot help this failure (`notRetryable`), `undefined` when it may. */
  readonly notRetryable: string | undefined
  /** The job was cancelled before it ended (see Cancel.ts). */
  readonly cancelled?: boolean | undefined
}

/** Retries allowed: the job's own setting, else the worker's, else the node's default. */
export const retryLimit = (job: Job.Job, worker: RegisteredWorker | undefined, defaultLimit: number): number => {
  const fromJob = Job.retryLimit(job)
  if (fromJob !== undefined) return fromJob
  if (worker?.retry === false) return 0
  if (typeof worker?.retry === "number") return Math.max(0, worker.retry)
  return defaultLimit
}

/**
 * Why retrying cannot help the run's failure, `undefined` when it may (or it did not fail). Such a
 * failure goes to the dead set at once, whatever the retry limit. Not retryable:
 *
 * - `Unrecoverable`, failed or thrown by the job's code;
 * - `InvalidJobArgs` for the job's own worker: its args do not match the worker's schema, and the
 *   same args will not match the next time (another worker's, met while enqueueing, is a failure
 *   like any other);
 * - a typed failure the worker's `retryable` says `false` to. A timeout is not asked about (it is
 *   retried), and a `retryable` that throws counts as `true`.
 *
 * An `UnknownJobClass` is retried, as Sidekiq does: a deploy may bring its worker.
 */
export const notRetryable = (
  job: Job.Job,
  worker: RegisteredWorker | undefined,
  exit: Exit.Exit<unknown, unknown>,
): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  for (const reason of exit.cause.reasons) {
    if (Cause.isDieReason(reason)) {
      if (reason.defect instanceof Unrecoverable) return "the job failed with Unrecoverable"
      continue
    }
    if (!Cause.isFailReason(reason)) continue
    const error = reason.error
    if (error instanceof Unrecoverable) return "the job failed with Unrecoverable"
    if (error instanceof InvalidJobArgs && error.worker === job.class) {
      return "its args do not match the worker's schema"
    }
    if (worker !== undefined && !Cause.isTimeoutError(error) && !retryableByWorker(worker, error)) {
      return "the worker's retryable said no"
    }
  }
  return undefined
}

/** The worker's `retryable` about one failure; one that throws counts as `true` (the default). */
const retryableByWorker = (worker: RegisteredWorker, error: unknown): boolean => {
  try {
    return worker.retryable(error) !== false
  } catch {
    return true
  }
}

/**
 * The retry number (Verk's 1-based count) that the worker's retry policy must be asked about before
 * deciding, or `undefined` when the decision does not depend on it: a success, an interruption,
 * a failure that is not retryable (`notRetryable`'s answer), or a failure past the retry limit (a
 * policy is never asked past the limit).
 */
export const policyQuestion = (
  job: Job.Job,
  worker: RegisteredWorker | undefined,
  exit: Exit.Exit<unknown, unknown>,
  maxRetries: number,
  notRetryable: string | undefined,
): number | undefined => {
  if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) || notRetryable !== undefined) return undefined
  const failures = Job.failureCount(job) + 1
  return failures > retryLimit(job, worker, maxRetries) ? undefined : failures
}

/**
 * Ack, retry at a time, dead with a reason, nothing (interrupted), or cancelled: a cancelled job
 * that did not succeed (interrupted by the cancel, or failing meanwhile) is never retried.
 */
export const decide = (input: Input): Decision => {
  const { exit, job } = input
  if (Exit.isSuccess(exit)) return ack
  if (input.cancelled === true) return cancelled
  if (Cause.hasInterruptsOnly(exit.cause)) return interrupted
  const failure = input.describe(exit.cause)
  const failures = Job.failureCount(job) + 1
  const message = `${failure.errorClass}: ${failure.message}`
  if (input.notRetryable !== undefined) {
    return { _tag: "Dead", reason: `not retryable (${input.notRetryable}): ${message}`, failure, failures }
  }
  if (failures > retryLimit(job, input.worker, input.maxRetries)) {
    return { _tag: "Dead", reason: `retries exhausted after ${failures} failures: ${message}`, failure, failures }
  }
  const at = input.retryAt
  if (at === undefined) return { _tag: "Dead", reason: message, failure, failures }
  return { _tag: "Retry", at, failure, failures, changes: Job.failureChanges(job, failure, input.nowMillis) }
}
