/**
 * W3C trace context across the queue: the enqueuer's span travels in the job as a top-level
 * `traceparent` key (`00-<trace id>-<span id>-<flags>`; Sidekiq keeps keys it does not know), and
 * the processor's span for the job takes it as its parent, so that a job's span is a child of the
 * request that enqueued it, whatever process runs it.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import * as JsonMembers from "./internal/JsonMembers.ts"

/** The job's key for the enqueuer's trace context. */
export const Key = "traceparent"

const Traceparent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/
const AllZeros = /^0+$/

/** A span as a W3C `traceparent` value. */
export const format = (span: Tracer.AnySpan): string =>
  `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`

/** The span a `traceparent` value names, or undefined when it is not a valid version 00 value. */
export const parse = (value: string): Tracer.ExternalSpan | undefined => {
  const match = Traceparent.exec(value)
  if (match === null) return undefined
  const [, traceId = "", spanId = "", flags = "00"] = match
  if (AllZeros.test(traceId) || AllZeros.test(spanId)) return undefined
  return Tracer.externalSpan({ traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 })
}

/**
 * The parent a payload names. Searched in the text, and read only when the text mentions the key:
 * this runs for every job, and most carry none.
 */
export const parentOf = (raw: string): Tracer.ExternalSpan | undefined => {
  if (!raw.includes('"traceparent"')) return undefined
  const value = JsonMembers.peekString(raw, Key)
  return value === undefined ? undefined : parse(value)
}

/**
 * The `traceparent` of whoever called a client operation: run inside the operation's own span
 * (`Effect.fn`), it names that span's parent, the caller's span; undefined when the caller had
 * none, so that a job enqueued outside any span carries no key.
 */
export const callerTraceparent: Effect.Effect<string | undefined> = Effect.withFiber((fiber) => {
  const span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
  const caller = span?._tag === "Span" ? Option.getOrUndefined(span.parent) : undefined
  return Effect.succeed(caller === undefined ? undefined : format(caller))
})
