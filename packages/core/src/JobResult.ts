/**
 * Job results: what a worker with a `success` schema keeps of each run that ends (its encoded
 * value, or its death), for `Client.result` and `Client.enqueueAndWait`, and the waiter that tells
 * callers when one arrives.
 *
 * A record is JSON text kept under the job's jid for the worker's `keepResult`:
 * `{"status":"succeeded","value":<encoded>}`, `{"status":"died","errorClass","message","error"?}`
 * (`error`: the typed failure, encoded, when the worker has an `error` schema) or
 * `{"status":"cancelled","message"}` (for a cancelled job: a cancel writes it with
 * `cancelledRecord`). Waiting uses the store's notices, never polling: a waiter registers, then
 * reads the record, then waits for a notice, so a result written in between is not missed.
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { type ResultNotice, ResultStore, type StoreError } from "./Store.ts"
import type { Worker } from "./WorkerDefinition.ts"

/**
 * The job died with a typed failure that the worker's `error` schema decodes: `error` is it (see
 * `Failed` for its type), beside its class and message as the dead set shows them.
 */
export class JobFailed extends Data.TaggedError("JobFailed")<{
  readonly jid: string
  readonly error: unknown
  readonly errorClass: string
  readonly errorMessage: string
}> {
  override get message() {
    return `Job ${this.jid} died: ${this.errorClass}: ${this.errorMessage}`
  }
}

/** `JobFailed` with its error typed as the worker's `E`. */
export type Failed<E> = JobFailed & { readonly error: E }

/** The job died with no typed failure to give back (a defect, a timeout, no `error` schema). */
export class JobDied extends Data.TaggedError("JobDied")<{
  readonly jid: string
  readonly errorClass: string
  readonly errorMessage: string
}> {
  override get message() {
    return `Job ${this.jid} died: ${this.errorClass}: ${this.errorMessage}`
  }
}

/** The job was cancelled before it could finish. */
export class JobCancelled extends Data.TaggedError("JobCancelled")<{
  readonly jid: string
  readonly reason: string
}> {
  override get message() {
    return `Job ${this.jid} was cancelled: ${this.reason}`
  }
}

/** No result arrived within the wait's `timeout` (the job may still run, or its result expired). */
export class ResultTimeout extends Data.TaggedError("ResultTimeout")<{
  readonly jid: string
  readonly timeoutMillis: number
}> {
  override get message() {
    return `No result for job ${this.jid} within ${this.timeoutMillis} ms`
  }
}

/** The kept result does not decode with the worker's `success` schema (it changed, or another wrote it). */
export class InvalidResult extends Data.TaggedError("InvalidResult")<{
  readonly jid: string
  readonly reason: string
}> {
  override get message() {
    return `The result of job ${this.jid} does not decode: ${this.reason}`
  }
}

/** How a wait for a worker's result can fail, besides the store's `StoreError`. */
export type ResultError<E> = Failed<E> | JobDied | JobCancelled | InvalidResult

const Record = Schema.fromJsonString(
  Schema.Union([
    Schema.Struct({ status: Schema.Literal("succeeded"), value: Schema.Unknown }),
    Schema.Struct({
      status: Schema.Literal("died"),
      errorClass: Schema.String,
      message: Schema.String,
      error: Schema.optionalKey(Schema.Unknown),
    }),
    Schema.Struct({ status: Schema.Literal("cancelled"), message: Schema.String }),
  ]),
)
const decodeRecord = Schema.decodeUnknownResult(Record)

/** The record of a success: the value as the worker's `success` schema encoded it. */
export const succeededRecord = (encoded: unknown): string => JSON.stringify({ status: "succeeded", value: encoded })

/** The record of a death: what the dead set says, and the typed failure encoded (when there is one). */
export const diedRecord = (errorClass: string, message: string, encodedError: unknown): string =>
  JSON.stringify(
    encodedError === undefined
      ? { status: "died", errorClass, message }
      : { status: "died", errorClass, message, error: encodedError },
  )

/** The record of a cancelled job: its waiters fail with `JobCancelled`. */
export const cancelledRecord = (reason: string): string => JSON.stringify({ status: "cancelled", message: reason })

/** A record read back for `worker`'s job `jid`: its value, or why there is none. */
export const decode = <A, E, R, S>(
  worker: Worker<A, E, R, S>,
  jid: string,
  record: string,
): Effect.Effect<S, ResultError<E>> => {
  const codec = worker.results
  if (codec === undefined) return Effect.die(new Error(`${worker.name} declares no success schema: it keeps no result`))
  const read = decodeRecord(record)
  if (Result.isFailure(read)) return Effect.fail(new InvalidResult({ jid, reason: read.failure.message }))
  const kept = read.success
  switch (kept.status) {
    case "succeeded": {
      const value = codec.decodeSuccess(kept.value)
      return Result.isSuccess(value)
        ? Effect.succeed(value.success)
        : Effect.fail(new InvalidResult({ jid, reason: value.failure }))
    }
    case "died": {
      const typed = "error" in kept ? codec.decodeError(kept.error) : undefined
      const details = { jid, errorClass: kept.errorClass, errorMessage: kept.message }
      return typed !== undefined && Result.isSuccess(typed)
        ? Effect.fail(new JobFailed({ ...details, error: typed.success }) as Failed<E>)
        : Effect.fail(new JobDied(details))
    }
    case "cancelled":
      return Effect.fail(new JobCancelled({ jid, reason: kept.message }))
  }
}

/** Waits for result records: one subscription per process, whatever the number of waits. */
export class Waiter extends Context.Service<
  Waiter,
  {
    /** The record of `jid`: at once when it is kept, else when it is written. */
    readonly record: (jid: string) => Effect.Effect<string, StoreError>
  }
>()("@verk/core/JobResult/Waiter") {}

/** A waiter over the store's `ResultStore` role: subscribed when it is built, until its scope closes. */
export const layer: Layer.Layer<Waiter, StoreError, ResultStore> = Layer.effect(
  Waiter,
  Effect.gen(function* () {
    const store = yield* ResultStore
    const waiting = new Map<string, Set<Deferred.Deferred<string, StoreError>>>()
    const deliver = (jid: string) =>
      Effect.map(Effect.exit(store.readResult(jid)), (read): void => {
        if (Exit.isSuccess(read) && read.value === undefined) return
        const waiters = waiting.get(jid)
        waiting.delete(jid)
        const done: Exit.Exit<string, StoreError> = Exit.isSuccess(read)
          ? Exit.succeed(read.value as string)
          : Exit.failCause(read.cause)
        for (const waiter of waiters ?? []) Deferred.doneUnsafe(waiter, done)
      })
    const onNotice = (notice: ResultNotice): Effect.Effect<void> =>
      notice._tag === "Done"
        ? waiting.has(notice.jid)
          ? deliver(notice.jid)
          : Effect.void
        : Effect.forEach([...waiting.keys()], deliver, { concurrency: 16, discard: true })
    const listen = (notices: Stream.Stream<ResultNotice, StoreError>) => Stream.runForEach(notices, onNotice)
    // Subscribed before the layer is built: no wait starts before notices can reach it.
    const first = yield* store.resultNotices
    // A subscription that ends or fails is made again; its waiters then read their records again.
    const again = Effect.scoped(
      Effect.flatMap(store.resultNotices, (notices) =>
        Effect.andThen(onNotice({ _tag: "Resubscribed" }), listen(notices)),
      ),
    ).pipe(
      Effect.tapError((error) => Effect.logWarning(`Result notices lost, subscribing again: ${error.message}`)),
      Effect.retry(Schedule.spaced("1 second")),
      Effect.forever,
    )
    yield* Effect.forkScoped(
      listen(first).pipe(
        Effect.catch((error) => Effect.logWarning(`Result notices lost, subscribing again: ${error.message}`)),
        Effect.andThen(again),
      ),
    )
    const record = (jid: string): Effect.Effect<string, StoreError> =>
      Effect.suspend(() => {
        const waiter = Deferred.makeUnsafe<string, StoreError>()
        const waiters = waiting.get(jid) ?? new Set()
        waiters.add(waiter)
        waiting.set(jid, waiters)
        const forget = Effect.sync(() => {
          const current = waiting.get(jid)
          current?.delete(waiter)
          if (current?.size === 0) waiting.delete(jid)
        })
        // Registered first, then read: a record written after the read sends a notice we hear.
        return store.readResult(jid).pipe(
          Effect.flatMap((kept) => (kept === undefined ? Deferred.await(waiter) : Effect.succeed(kept))),
          Effect.ensuring(forget),
        )
      })
    return { record }
  }),
)
