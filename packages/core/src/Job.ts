/**
 * The job as it lives in Redis: Sidekiq's JSON wire format.
 *
 * Decoding is lenient where other clients differ (Verk's string-wrapped args, integer seconds,
 * Sidekiq 8 milliseconds, decimal jids) and keeps every key it does not know, so that a job written
 * by another client survives a retry round trip with its extra keys intact.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"
import * as JsonMembers from "./internal/JsonMembers.ts"
import * as Payload from "./Payload.ts"

/** Epoch seconds; a value above 1e11 can only be milliseconds (Sidekiq 8), so it is scaled. */
const EpochSeconds = Schema.Finite.pipe(
  Schema.decodeTo(Schema.Finite, {
    decode: SchemaGetter.transform((value: number) => (value > 1e11 ? value / 1000 : value)),
    encode: SchemaGetter.transform((value: number) => value),
  }),
)

/** Sidekiq writes args as an array; Verk writes a string holding a JSON array. */
const Args = Schema.Union([Schema.Array(Schema.Unknown), Schema.fromJsonString(Schema.Array(Schema.Unknown))])

const KnownFields = Schema.Struct({
  class: Schema.NonEmptyString,
  queue: Schema.NonEmptyString,
  args: Args,
  jid: Schema.NonEmptyString,
  retry: Schema.optionalKey(Schema.Union([Schema.Boolean, Schema.Int])),
  max_retry_count: Schema.optionalKey(Schema.Int),
  created_at: Schema.optionalKey(EpochSeconds),
  enqueued_at: Schema.optionalKey(EpochSeconds),
  retry_count: Schema.optionalKey(Schema.Int),
  error_message: Schema.optionalKey(Schema.String),
  error_class: Schema.optionalKey(Schema.String),
  failed_at: Schema.optionalKey(EpochSeconds),
  retried_at: Schema.optionalKey(EpochSeconds),
  error_backtrace: Schema.optionalKey(Schema.Array(Schema.String)),
})

/** The wire schema: the known fields, plus any other key kept as it was. */
export const Job = Schema.StructWithRest(KnownFields, [Schema.Record(Schema.String, Schema.Unknown)])
/** A decoded job: the known fields typed, every other key as it was read. */
export type Job = typeof Job.Type

const JobFromJson = Schema.fromJsonString(Job)

/**
 * A payload that cannot be a job: not JSON, or missing `class`, `queue`, `args` or `jid`.
 * `raw` is the payload exactly as it was read, so that nothing is ever lost.
 */
export class MalformedJob extends Data.TaggedError("MalformedJob")<{
  readonly raw: string
  readonly reason: string
}> {
  override get message() {
    return `Malformed job payload: ${this.reason}`
  }
}

/**
 * Decodes a raw Redis payload. Total: whatever the text holds, it is a job or a `MalformedJob`.
 * A payload whose bytes are not UTF-8 (Payload's binary form) is never a job.
 */
export const decode = (raw: string): Effect.Effect<Job, MalformedJob> => {
  if (!Payload.isBinary(raw)) return decodeText(raw, raw)
  const text = Payload.text(raw)
  return text === undefined
    ? Effect.fail(new MalformedJob({ raw, reason: `not valid UTF-8, ${Payload.byteLength(raw)} bytes` }))
    : decodeText(raw, text)
}

/**
 * `decode` run synchronously, its outcome as a `Result`: for code that is not in an Effect (or
 * handles many payloads in one step) and wants the job or the `MalformedJob` as a value.
 */
export const decodeResult = (raw: string): Result.Result<Job, MalformedJob> =>
  Effect.runSync(Effect.result(decode(raw)))

/**
 * `decode` without an Effect, for the common case: a text payload in the form our client writes;
 * `undefined` for anything else, which `decode` then handles.
 */
export const decodeCommon = (raw: string): Job | undefined => (Payload.isBinary(raw) ? undefined : decodePlain(raw))

const decodeText = (raw: string, text: string): Effect.Effect<Job, MalformedJob> => {
  const plain = decodePlain(text)
  return plain !== undefined ? Effect.succeed(plain) : decodeSchema(raw, text)
}

const decodeSchema = (raw: string, text: string): Effect.Effect<Job, MalformedJob> =>
  Schema.decodeUnknownEffect(JobFromJson)(text).pipe(
    Effect.mapError((error) => new MalformedJob({ raw, reason: truncate(error.message, MaxReasonLength) })),
    Effect.catchDefect((defect) =>
      Effect.fail(new MalformedJob({ raw, reason: truncate(`cannot be decoded: ${String(defect)}`, MaxReasonLength) })),
    ),
  )

/** The keys of a job as our client writes it: `decodePlain` knows no others. */
const PlainKeys = new Set(["class", "queue", "args", "jid", "retry", "created_at", "enqueued_at", "traceparent"])

const isNonEmptyString = (value: unknown) => typeof value === "string" && value.length > 0
/** Epoch seconds that the schema would keep as they are (not Sidekiq 8 milliseconds). */
const isPlainSeconds = (value: unknown) =>
  value === undefined || (typeof value === "number" && Number.isFinite(value) && value <= 1e11)

/**
 * The hot path's decode: a job as our client writes it (and as most clients do), checked by hand,
 * the parsed object as it is. Anything else (another key, another form, something wrong) is
 * `undefined`, and goes through the schema, which accepts the rest and words the errors.
 */
const decodePlain = (text: string): Job | undefined => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined
  for (const key in value) if (!PlainKeys.has(key)) return undefined
  const job = value as Record<string, unknown>
  const retry = job.retry
  return isNonEmptyString(job.class) &&
    isNonEmptyString(job.queue) &&
    isNonEmptyString(job.jid) &&
    Array.isArray(job.args) &&
    (retry === undefined || typeof retry === "boolean" || Number.isSafeInteger(retry)) &&
    isPlainSeconds(job.created_at) &&
    isPlainSeconds(job.enqueued_at) &&
    (job.traceparent === undefined || typeof job.traceparent === "string")
    ? (job as Job)
    : undefined
}

/** A decode error names the path and what was expected; this bounds it should it quote the input. */
const MaxReasonLength = 500

/**
 * Wire JSON of a job we build ourselves (the client). A job read from the store is never
 * re-encoded: it is changed with `patch`, which keeps what it does not change as it was.
 */
export const encode = (job: Job): string => JSON.stringify(job)

/** Top-level keys to set in a job's text, with their new values. */
export type Changes = Readonly<Record<string, unknown>>

/**
 * The raw job with `changes` set and every other byte as it was: args, unknown keys, numbers
 * beyond 2^53 and escapes survive any number of round trips, and no depth of nesting costs stack
 * (see JsonMembers). Fails when `raw` is not a JSON object.
 */
export const patch = (raw: string, changes: Changes): Result.Result<string, string> => {
  const values: Array<readonly [string, string]> = []
  for (const [key, value] of Object.entries(changes)) {
    // Only our own small values (times, counts, error text) are serialised here.
    const json = JSON.stringify(value)
    if (json !== undefined) values.push([key, json])
  }
  const patched = JsonMembers.set(raw, values)
  return patched._tag === "Ok" ? Result.succeed(patched.text) : Result.fail(patched.error)
}

/** Sidekiq's jid: 12 random bytes as 24 lowercase hex characters. */
export const makeJid = (): string => {
  // Random bytes are drawn a few KiB at a time: one call per jid costs more than the rest of it.
  if (randomOffset + 12 > randomPool.length) {
    globalThis.crypto.getRandomValues(randomPool)
    randomOffset = 0
  }
  let jid = ""
  for (let i = randomOffset; i < randomOffset + 12; i++) jid += hex[randomPool[i] ?? 0]
  randomOffset += 12
  return jid
}

const hex = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"))
const randomPool = new Uint8Array(4096 - (4096 % 12))
let randomOffset = randomPool.length

/** Epoch seconds as Sidekiq writes them: a float with millisecond precision. */
export const toEpochSeconds = (millis: number): number => millis / 1000

/** The stamp a job gets each time it is put on a queue. */
export const enqueuedChanges = (nowMillis: number): Changes => ({ enqueued_at: toEpochSeconds(nowMillis) })

/** Sidekiq's dead set keeps error messages short; so do we. */
export const MaxErrorMessageLength = 1_000
/** How many lines of a backtrace a failed job keeps. */
export const MaxBacktraceLines = 20

/** A failure as a job records it: Sidekiq's `error_class`, `error_message` and `error_backtrace`. */
export interface Failure {
  readonly errorClass: string
  readonly message: string
  readonly backtrace?: ReadonlyArray<string> | undefined
}

/**
 * What one more failure changes in a job: `retry_count` in Sidekiq's numbering (0 after the first
 * failure), the error fields, and `failed_at` (first failure) or `retried_at` (later ones).
 */
export const failureChanges = (job: Job, failure: Failure, nowMillis: number): Changes => {
  const now = toEpochSeconds(nowMillis)
  const firstFailure = job.retry_count === undefined
  const next: Record<string, unknown> = {
    retry_count: firstFailure ? 0 : (job.retry_count ?? 0) + 1,
    error_class: truncate(failure.errorClass, MaxLineLength),
    error_message: truncate(failure.message, MaxErrorMessageLength),
  }
  if (firstFailure || job.failed_at === undefined) next.failed_at = now
  else next.retried_at = now
  if (failure.backtrace !== undefined && failure.backtrace.length > 0) {
    next.error_backtrace = failure.backtrace.slice(0, MaxBacktraceLines).map((line) => truncate(line, MaxLineLength))
  }
  return next
}

/** A backtrace line is a stack frame; this bounds one that is not. */
const MaxLineLength = 500

/** The job after one more failure, as `failureChanges` leaves it. */
export const recordFailure = (job: Job, failure: Failure, nowMillis: number): Job =>
  ({ ...job, ...failureChanges(job, failure, nowMillis) }) as Job

/** How many failures a job has had: Verk's 1-based count (1 after the first failure). */
export const failureCount = (job: Job): number => (job.retry_count === undefined ? 0 : job.retry_count + 1)

/**
 * The retry limit a job carries: Sidekiq's `retry` (true = default, false = none, N) or Verk's
 * `max_retry_count`; `undefined` means "use the worker's or the default".
 */
export const retryLimit = (job: Job): number | undefined => {
  if (job.retry === false) return 0
  if (typeof job.retry === "number") return Math.max(0, job.retry)
  if (job.max_retry_count !== undefined) return Math.max(0, job.max_retry_count)
  return undefined
}

const truncate = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 3)}...`)

/**
 * What the dead set holds for a payload that is not a job: a Sidekiq-shaped entry, so that
 * Sidekiq's web UI can list it, with the reason and the original text kept byte for byte in
 * `payload`. Bytes that are not UTF-8 cannot be a JSON string: `payload_base64` holds them exactly,
 * and `payload` a copy for display (U+FFFD where a byte is not UTF-8).
 */
export const malformedDeadEntry = (
  raw: string,
  queue: string,
  reason: string,
  nowMillis: number,
  jid: string = makeJid(),
): string =>
  JSON.stringify({
    class: MalformedClass,
    queue,
    args: [],
    jid,
    retry: false,
    error_class: "MalformedJob",
    error_message: truncate(reason, MaxErrorMessageLength),
    failed_at: toEpochSeconds(nowMillis),
    payload: Payload.display(raw),
    ...(Payload.text(raw) === undefined ? { payload_base64: Payload.base64(raw) } : {}),
  })

/** The `class` of a dead-set entry that wraps a malformed payload. */
export const MalformedClass = "Verk::MalformedJob"

/** Best effort: the queue a payload names, even when it is otherwise malformed (or cut short). */
export const queueOf = (raw: string): string | undefined =>
  nonEmpty(JsonMembers.peekString(Payload.display(raw), "queue"))

/** Best effort: the jid a payload names, even when it is otherwise malformed (or cut short). */
export const jidOf = (raw: string): string | undefined => nonEmpty(JsonMembers.peekString(Payload.display(raw), "jid"))

const nonEmpty = (text: string | undefined) => (text === undefined || text === "" ? undefined : text)
