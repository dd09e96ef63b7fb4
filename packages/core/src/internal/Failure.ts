/**
 * What a failed run writes into its job (Sidekiq's `error_class`, `error_message` and
 * `error_backtrace`), read from the run's `Cause`, whatever was thrown.
 *
 * A tagged error (`Data.TaggedError`, `Schema.TaggedError`, or a plain object with a string
 * `_tag`) keeps its words: its tag is the class, and the message is its own message followed by
 * its fields, `MailError: bounced (to: ada@example.com)`, or its fields alone when it has no
 * message, `MailError: reason: bounced, to: ada@example.com`. A field whose value the message
 * already shows is not repeated (a `message` getter built from the fields stays as it is). Plain
 * errors and anything else keep their message or text.
 */
import * as Cause from "effect/Cause"
import * as Job from "../Job.ts"

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

/** The longest text one field's value gets: a long field does not crowd out the others. */
export const MaxFieldLength = 200

/** How deep errors inside fields (a `cause`) are described, the error itself being depth 0. */
const MaxDepth = 2

/** What a field whose value cannot be read (a throwing getter, a revoked proxy) shows. */
const Unreadable = "[unreadable]"

const truncate = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 3)}...`)

/** Keys that are no field: the tag (the class already), the message, and the Error's own parts. */
const isField = (key: string): boolean =>
  key !== "_tag" && key !== "message" && key !== "name" && key !== "stack" && !key.startsWith("~")

/** JSON of an object value: a repeated or cyclic object is `[Circular]`, a bigint its digits. */
const json = (value: object): string => {
  const seen = new WeakSet<object>()
  const text = JSON.stringify(value, (_key, member: unknown) => {
    if (typeof member === "bigint") return member.toString()
    if (typeof member === "object" && member !== null) {
      if (seen.has(member)) return "[Circular]"
      seen.add(member)
    }
    return member
  })
  return text === undefined ? String(value) : text
}

/** A string `_tag`, or `undefined`. May throw (a getter): callers catch. */
const tagOf = (value: unknown): string | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const tag = (value as { readonly _tag?: unknown })._tag
  return typeof tag === "string" ? tag : undefined
}

/** One field's value as text: strings as they are, errors by class and message, objects as JSON. */
const valueText = (value: unknown, depth: number): string => {
  try {
    switch (typeof value) {
      case "string":
        return value === "" ? '""' : value
      case "function":
        return "[function]"
      case "object": {
        if (value === null) return "null"
        if (value instanceof Error || tagOf(value) !== undefined) {
          if (depth >= MaxDepth) return tagOf(value) ?? (value instanceof Error ? value.name : "Error")
          const { errorClass, message } = describeError(value, depth + 1)
          return `${errorClass}: ${message}`
        }
        if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString()
        return json(value)
      }
      default:
        return String(value)
    }
  } catch {
    return Unreadable
  }
}

/** The message of a tagged error: its own message, then the fields it does not already show. */
const taggedMessage = (error: object, tag: string, depth: number): string => {
  let message = ""
  try {
    const own = (error as { readonly message?: unknown }).message
    if (typeof own === "string") message = own
  } catch {
    message = Unreadable
  }
  let keys: Array<string>
  try {
    keys = Object.keys(error).filter(isField)
    // An Error's `cause` is its own but not enumerable (the constructor defines it).
    if (error instanceof Error && Object.hasOwn(error, "cause") && !keys.includes("cause")) keys.push("cause")
  } catch {
    keys = []
  }
  const fields: Array<string> = []
  let length = message.length
  for (const key of keys) {
    if (length > Job.MaxErrorMessageLength) break
    let value: unknown
    try {
      value = (error as Record<string, unknown>)[key]
    } catch {
      fields.push(`${key}: ${Unreadable}`)
      continue
    }
    const text = valueText(value, depth)
    if (message !== "" && message.includes(text)) continue
    const field = `${key}: ${truncate(text, MaxFieldLength)}`
    fields.push(field)
    length += field.length + 2
  }
  const listed = fields.join(", ")
  if (fields.length === 0) return message === "" ? tag : truncate(message, Job.MaxErrorMessageLength)
  return truncate(message === "" ? listed : `${message} (${listed})`, Job.MaxErrorMessageLength)
}

/** Class and message of an error value (an `Error`, a tagged value, anything thrown). */
const describeError = (error: unknown, depth: number): { readonly errorClass: string; readonly message: string } => {
  const tag = tagOf(error)
  if (tag !== undefined) return { errorClass: tag, message: taggedMessage(error as object, tag, depth) }
  if (error instanceof Error) {
    return { errorClass: error.name, message: error.message === "" ? error.name : String(error.message) }
  }
  return { errorClass: "Error", message: textOf(error) }
}

/**
 * What a failure writes into the job: Sidekiq's error class, message and backtrace. Total: an
 * error whose fields cannot be read (a throwing getter, a cycle) still gets a description.
 */
export const describeFailure = (cause: Cause.Cause<unknown>): Job.Failure => {
  try {
    const error = Cause.squash(cause)
    const { errorClass, message } = describeError(error, 0)
    if (error instanceof Error) {
      return {
        errorClass,
        message,
        backtrace: error.stack
          ?.split("\n")
          .slice(1)
          .map((line) => line.trim()),
      }
    }
    return { errorClass, message }
  } catch (thrown) {
    return { errorClass: "Error", message: `an error that cannot be described (${textOf(thrown)})` }
  }
}

/** The `error_class` of a job whose handling failed in Verk itself (not in its worker). */
export const ProcessingFailedClass = "Verk::ProcessingFailed"
