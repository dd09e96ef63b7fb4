/**
 * What a failed run writes into its job (Sidekiq's `error_class`, `error_message` and
 * `error_backtrace`), read from the run's `Cause`, whatever was thrown.
 */
import * as Cause from "effect/Cause"
import type * as Job from "../Job.ts"

/** Text of anything thrown, without ever throwing itself (a getter or `toString` may). */
const textOf = (value: unknown): string => {
  try {
    if (typeof value === "string") return value
    const json = JSON.stringify(value)
    return json === undefined ? String(value) : json
  } catch {
    try {
      return String(value)
    } catch {
      return "an error that cannot be shown"
    }
  }
}

/**
 * What a failure writes into the job: Sidekiq's error class, message and backtrace. Total: an
 * error whose fields cannot be read (a throwing getter, a cycle) still gets a description.
 */
export const describeFailure = (cause: Cause.Cause<unknown>): Job.Failure => {
  try {
    const error = Cause.squash(cause)
    if (error instanceof Error) {
      const tag = (error as { readonly _tag?: unknown })._tag
      return {
        errorClass: typeof tag === "string" ? tag : error.name,
        message: error.message === "" ? String(tag ?? error.name) : String(error.message),
        backtrace: error.stack
          ?.split("\n")
          .slice(1)
          .map((line) => line.trim()),
      }
    }
    const tag = typeof error === "object" && error !== null ? (error as { readonly _tag?: unknown })._tag : undefined
    return { errorClass: typeof tag === "string" ? tag : "Error", message: textOf(error) }
  } catch (thrown) {
    return { errorClass: "Error", message: `an error that cannot be described (${textOf(thrown)})` }
  }
}

/** The `error_class` of a job whose handling failed in Verk itself (not in its worker). */
export const ProcessingFailedClass = "Verk::ProcessingFailed"
