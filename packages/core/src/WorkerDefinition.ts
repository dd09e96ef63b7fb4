/**
 * What a worker is, as both sides of a job see it: `Client` enqueues for one, `Worker` makes and
 * registers them. A module of its own so that neither imports the other. `Worker` re-exports
 * every name here: import them from there.
 */
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Result from "effect/Result"
import type { Limit } from "./Limits.ts"
import type { RetryPolicy } from "./RetryPolicy.ts"
import type { UniqueOptions } from "./Unique.ts"

/** The job's args did not match the worker's schema (on enqueue or on perform). */
export class InvalidJobArgs extends Data.TaggedError("InvalidJobArgs")<{
  readonly worker: string
  readonly reason: string
}> {
  override get message() {
    return `Invalid args for ${this.worker}: ${this.reason}`
  }
}

/**
 * A failure that retrying cannot help: a job that fails with it (or throws it) goes to the dead set
 * at once, whatever its retry settings, with `reason` as its error message. To keep an error's
 * own class in the job instead, give the worker a `retryable` option.
 */
export class Unrecoverable extends Data.TaggedError("Unrecoverable")<{
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message() {
    return this.reason
  }
}

/** The wire form of args: Sidekiq's positional JSON array. */
export type WireArgs = ReadonlyArray<unknown>

/** Marks a value made by `make`, so that a loader recognises workers without guessing from shape. */
export const TypeId: unique symbol = Symbol.for("@verk/core/Worker") as never
/** The type of `TypeId`. */
export type TypeId = typeof TypeId

/**
 * How a worker's results are kept (`Worker.make`'s `success`, `error` and `keepResult`): encoders
 * and decoders of what `perform` returns and fails with, all synchronous. Methods, so that any
 * worker is an `AnyWorker`.
 */
export interface ResultCodec<S, E> {
  /** How long a result (or a death's record) is kept, in milliseconds. */
  readonly keepMillis: number
  /** The wire form of a result, or a `SchemaError`'s message. */
  encodeSuccess(value: S): Result.Result<unknown, string>
  decodeSuccess(encoded: unknown): Result.Result<S, string>
  /** The wire form of a typed failure, `undefined` with no `error` schema or when it does not encode. */
  encodeError(error: E): unknown
  /** A typed failure from its wire form, `undefined` with no `error` schema or when it does not decode. */
  decodeError(encoded: unknown): Result.Result<E, string> | undefined
}

/**
 * A worker definition. `A` is the decoded args type (what `perform` receives and `enqueue`
 * takes), `E` its typed failure, `R` the services `perform` needs and `S` what it returns (kept as
 * the job's result when the worker declares a `success` schema).
 */
export interface Worker<A, E = never, R = never, S = unknown> {
  readonly [TypeId]: TypeId
  /** The wire `class`: how Sidekiq and other clients name this job. */
  readonly name: string
  /** The queue `enqueue` uses unless told otherwise. */
  readonly queue: string
  /** Sidekiq's retry option as given: `true`, `false`, a count, or absent (the default count). */
  readonly retry: boolean | number | undefined
  /** When a failed job runs again; Sidekiq's backoff when absent. */
  readonly retryPolicy: RetryPolicy | undefined
  /** `perform` is interrupted after this long. */
  readonly timeout: Duration.Duration | undefined
  /** The lock options `Client.enqueueUnique` uses for fields its call does not give (see Unique.ts). */
  readonly unique?: UniqueOptions<A> | undefined
  /** Rate and concurrency limits its jobs are admitted by, across nodes (see Limits.ts); none when absent. */
  readonly limits?: ReadonlyArray<Limit<A>> | undefined
  /**
   * Whether a failure of `perform` is worth retrying (`make`'s `retryable` option; `true` when it
   * has none). `false` sends the job to the dead set at once. A method, like `encodeArgs`.
   */
  retryable(error: E): boolean
  /**
   * Validates and encodes args for the wire. (A method, so that any worker is an `AnyWorker`:
   * method parameters are compared bivariantly.)
   */
  encodeArgs(args: A): Effect.Effect<WireArgs, InvalidJobArgs>
  /** Decodes wire args, as `perform` will receive them. */
  readonly decodeArgs: (args: WireArgs) => Effect.Effect<A, InvalidJobArgs>
  /** Decodes wire args and performs the job. */
  readonly run: (args: WireArgs) => Effect.Effect<unknown, E | InvalidJobArgs, R>
  /** How its results are kept; `undefined` when it declares no `success` schema (nothing is kept). */
  readonly results: ResultCodec<S, E> | undefined
}

/**
 * A worker that keeps its results (made with a `success` schema): what `Client.result` and
 * `Client.enqueueAndWait` take, so that waiting on a worker that keeps none is a type error.
 */
export interface ResultWorker<A, E = never, R = never, S = unknown> extends Worker<A, E, R, S> {
  readonly results: ResultCodec<S, E>
}
