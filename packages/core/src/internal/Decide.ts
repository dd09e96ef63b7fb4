/**
 * What a job's run means for the store, as a pure function: the processor performs the job, then
 * asks `decide`, then writes what it says (ack, retry, or the dead set through DeadLetter), in one
 * atomic step with the job's removal from in-progress. No store, no clock, no randomness here: the
 * caller passes the time and, for a failure, when the worker's retry policy would run it again.
 */
import * as Cause from "effect/Cause"
import type * as DateTime from "effect/DateTime"
import * as Exit from "effect/Exit"
import * as Job from "../Job.ts"
import type { RegisteredWorker } from "../Worker.ts"

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

export type Decision = Ack | Retry | Dead | Interrupted

const ack: Ack = { _tag: "Ack" }
const interrupted: Interrupted = { _tag: "Interrupted" }

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
 * The retry number (Verk's 1-based count) that the worker's retry policy must be asked about before
 * deciding, or `undefined` when the decision does not depend on it: a success, an interruption,
 * or a failure past the retry limit (a policy is never asked past the limit).
 */
export const policyQuestion = (
  job: Job.Job,
  worker: RegisteredWorker | undefined,
  exit: Exit.Exit<unknown, unknown>,
  maxRetries: number,
): number | undefined => {
  if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return undefined
  const failures = Job.failureCount(job) + 1
  return failures > retryLimit(job, worker, maxRetries) ? undefined : failures
}

/** Ack, retry at a time, dead with a reason, or nothing (interrupted). */
export const decide = (input: Input): Decision => {
  const { exit, job } = input
  if (Exit.isSuccess(exit)) return ack
  if (Cause.hasInterruptsOnly(exit.cause)) return interrupted
  const failure = input.describe(exit.cause)
  const failures = Job.failureCount(job) + 1
  const message = `${failure.errorClass}: ${failure.message}`
  if (failures > retryLimit(job, input.worker, input.maxRetries)) {
    return { _tag: "Dead", reason: `retries exhausted after ${failures} failures: ${message}`, failure, failures }
  }
  const at = input.retryAt
  if (at === undefined) return { _tag: "Dead", reason: message, failure, failures }
  return { _tag: "Retry", at, failure, failures, changes: Job.failureChanges(job, failure, input.nowMillis) }
}
