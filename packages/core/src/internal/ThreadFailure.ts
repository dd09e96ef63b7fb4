/**
 * A failure that crossed from a worker thread as plain data (see Threads.ts): an `Error` whose
 * name, message and stack are the original's, so that `describeFailure` writes the job's usual
 * `error_class`, `error_message` and `error_backtrace`. A module of its own (no imports but a
 * type) so that Decide.ts and ResultWrite.ts can read it without importing Threads.ts.
 */
import type * as Job from "../Job.ts"

/** A job's failure in a worker thread, as the node sees it (its class and message kept). */
export class ThreadFailure extends Error {
  /** Why retrying cannot help (decided in the thread, where the typed error is), or `undefined`. */
  readonly notRetryable: string | undefined
  /** The typed failure encoded by the worker's `error` schema, for its kept result; or `undefined`. */
  readonly encodedError: unknown
  constructor(failure: Job.Failure, notRetryable?: string | undefined, encodedError?: unknown) {
    super(failure.message)
    this.name = failure.errorClass
    this.notRetryable = notRetryable
    this.encodedError = encodedError
    const head = `${failure.errorClass}: ${failure.message}`
    this.stack = [head, ...(failure.backtrace ?? []).map((line) => `    ${line}`)].join("\n")
  }
}
