/**
 * What a run keeps as its job's result (JobResult.ts), for a worker with a `success` schema: the
 * encoded value of a success, or the death (with the typed failure, encoded, when the worker has
 * an `error` schema). It is written before the outcome, so a crash in between runs the job again
 * (which writes the result again) rather than leaving a finished job with no result. Workers with
 * no `success` schema keep nothing: no write, no cost. A new outcome that ends a job for good (a
 * cancel) keeps its own record here (`JobResult.cancelledRecord`), so that waiters fail with it.
 */
import * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as JobResult from "../JobResult.ts"
import type { ResultStoreShape, StoreError } from "../Store.ts"
import type { RegisteredWorker } from "../Worker.ts"
import type { Decision } from "./Decide.ts"
import { ThreadFailure } from "./ThreadFailure.ts"

/** The class of a death record whose value the `success` schema could not encode. */
export const InvalidResultClass = "Verk::InvalidResult"

/** The record a decision keeps for the worker's job, `undefined` when it keeps none. */
export const recordOf = (
  worker: RegisteredWorker | undefined,
  exit: Exit.Exit<unknown, unknown>,
  decision: Decision,
): string | undefined => {
  const codec = worker?.results
  if (codec === undefined) return undefined
  switch (decision._tag) {
    case "Ack": {
      if (!Exit.isSuccess(exit)) return undefined
      // The job ran, but its value does not fit the schema: its waiters learn why (it is not retried).
      const encoded = codec.encodeSuccess(exit.value)
      return Result.isSuccess(encoded)
        ? JobResult.succeededRecord(encoded.success)
        : JobResult.diedRecord(InvalidResultClass, `the result does not encode: ${encoded.failure}`, undefined)
    }
    case "Dead": {
      const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
      // A thread's failure comes encoded already (Threads.ts).
      const encoded =
        error?._tag !== "Some"
          ? undefined
          : error.value instanceof ThreadFailure
            ? error.value.encodedError
            : codec.encodeError(error.value)
      return JobResult.diedRecord(decision.failure.errorClass, decision.failure.message, encoded)
    }
    case "Cancelled":
      return JobResult.cancelledRecord("cancelled while it ran")
    // Retry and Interrupted end nothing for good.
    default:
      return undefined
  }
}

/** The write of the run's result record, `undefined` when it keeps none (see `recordOf`). */
export const write = (
  store: ResultStoreShape,
  jid: string,
  worker: RegisteredWorker | undefined,
  exit: Exit.Exit<unknown, unknown>,
  decision: Decision,
): Effect.Effect<void, StoreError> | undefined => {
  const record = recordOf(worker, exit, decision)
  return record === undefined || worker?.results === undefined
    ? undefined
    : store.writeResult(jid, record, worker.results.keepMillis)
}
