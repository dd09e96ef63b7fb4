/**
 * Worker definitions: what a job class is, and the registry that maps wire `class` names to them.
 * Nothing is ever evaluated from a job's text: an unregistered class is an `UnknownJobClass`.
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Tracer from "effect/Tracer"
import { Client, InvalidQueueName } from "./Client.ts"
import { CurrentJob } from "./CurrentJob.ts"
import type { Limit } from "./Limits.ts"
import type { RetryPolicy } from "./RetryPolicy.ts"
import { queueNameProblem } from "./Settings.ts"
import type { UniqueOptions } from "./Unique.ts"
import {
  InvalidJobArgs,
  type ResultCodec,
  type ResultWorker,
  TypeId,
  type WireArgs,
  type Worker,
} from "./WorkerDefinition.ts"

/** What `make` throws for a queue name outside `Settings.QueueNameRule` (defined beside `Client`). */
export { InvalidQueueName } from "./Client.ts"
/**
 * What a worker is (defined in WorkerDefinition.ts, so that `Client` need not import this module):
 * `Worker`, its args' wire form `WireArgs`, the `InvalidJobArgs` error and the `TypeId` marking one.
 */
export {
  InvalidJobArgs,
  type ResultCodec,
  type ResultWorker,
  TypeId,
  Unrecoverable,
  type WireArgs,
  type Worker,
} from "./WorkerDefinition.ts"

/** A job names a class that no registered worker handles. */
export class UnknownJobClass extends Data.TaggedError("UnknownJobClass")<{
  readonly className: string
}> {
  override get message() {
    return `No worker is registered for job class "${this.className}"`
  }
}

/**
 * Two different workers with one name were given to one registry (`layerRegistry`, `Verk.layer`):
 * a job names its worker by name only, so one of them would never run and jobs meant for it would
 * be decoded by the other. A defect when the layer is built (the list of workers is code).
 */
export class DuplicateWorkerName extends Data.TaggedError("DuplicateWorkerName")<{
  readonly name: string
  /** The queues of the two workers, in the order they were listed. */
  readonly queues: readonly [string, string]
}> {
  override get message() {
    const [first, second] = this.queues
    return `Two different workers are named "${this.name}" (queues ${first} and ${second}): a job names its worker by name, so each worker needs a name of its own`
  }
}

/** What `make` takes: the job's wire name, its args' schema, what it does, and its defaults. */
export interface WorkerOptions<A, E, R, S = void> {
  /** The wire `class`: how Sidekiq and other clients name this job. */
  readonly name: string
  /**
   * Schema of the args array, e.g. `Schema.Tuple([Schema.String, Schema.Int])`. It decodes
   * synchronously (args are a JSON array: checks and conversions, no I/O), in the same step that
   * starts `perform`: a schema with an asynchronous step fails `enqueue` and every run with a defect.
   */
  readonly args: Schema.Codec<A, WireArgs>
  /** The job: what runs, with the decoded args, when a worker process takes it from its queue. */
  readonly perform: (args: A) => Effect.Effect<S, E, R>
  /**
   * Default queue for `enqueue`; "default" when absent. A name outside `Settings.QueueNameRule`
   * makes `make` throw `InvalidQueueName`.
   */
  readonly queue?: string | undefined
  /** Sidekiq's retry option: `true` (default count), `false` (none) or a count. */
  readonly retry?: boolean | number | undefined
  /** Lock options for `Client.enqueueUnique` (key, until, ttl, debounce), each overridable per call. */
  readonly unique?: UniqueOptions<A> | undefined
  /**
   * Rate and concurrency limits across nodes (`Limits.rate`, `Limits.concurrency`), each key
   * computed from the decoded args: a job over one is snoozed, not run (see Limits.ts). Not where
   * `A` is inferred from (the `args` schema says it): a limit written here with a `key` types its
   * parameter, `key: ([customer]: readonly [string, number]) => customer`.
   */
  readonly limits?: ReadonlyArray<Limit<NoInfer<A>>> | undefined
  /** A `Schedule` or Verk's `retryAt(failedAt, count)`; Sidekiq's backoff when absent. */
  readonly retryPolicy?: RetryPolicy | undefined
  /** Interrupt `perform` after this long; the job then fails and is retried. */
  readonly timeout?: Duration.Input | undefined
  /**
   * Whether a typed failure of `perform` is worth retrying: `false` sends the job to the dead set
   * at once, whatever its retry settings. Every failure is retried when absent. A timeout is
   * always retried; args that do not match `args` never are, nor is `Unrecoverable`.
   */
  readonly retryable?: ((error: E) => boolean) | undefined
  /**
   * Schema of what `perform` returns (synchronous, to JSON): with one, each success keeps its
   * encoded value as the job's result for `keepResult`, and a death its error, for
   * `Client.result` and `Client.enqueueAndWait`. Without one nothing is kept (no extra write).
   */
  readonly success?: Schema.Codec<S, unknown> | undefined
  /** Schema of `perform`'s typed failure: a job that dies with one keeps it encoded in its result. */
  readonly error?: Schema.Codec<E, unknown> | undefined
  /** How long a result is kept (with a `success` schema): one day when absent. */
  readonly keepResult?: Duration.Input | undefined
}

/** How long a result is kept when the worker does not say. */
export const DefaultKeepResult: Duration.Duration = Duration.days(1)

/** A message of what failed, for a result that cannot be written or read. */
const failureMessage = (thrown: unknown): string => (thrown instanceof Error ? thrown.message : String(thrown))

/** A synchronous schema step as a Result; one that throws (an asynchronous step) fails with its message. */
const attempt = <A>(step: () => Result.Result<A, Schema.SchemaError>): Result.Result<A, string> => {
  try {
    return Result.mapError(step(), (error) => error.message)
  } catch (thrown) {
    return Result.fail(failureMessage(thrown))
  }
}

/** The codec of a worker's results, from its `success`, `error` and `keepResult` options. */
const resultCodec = <S, E>(
  success: Schema.Codec<S, unknown>,
  error: Schema.Codec<E, unknown> | undefined,
  keepResult: Duration.Input | undefined,
): ResultCodec<S, E> => {
  const encodeSuccess = Schema.encodeUnknownResult(success)
  const decodeSuccess = Schema.decodeUnknownResult(success)
  const encodeError = error === undefined ? undefined : Schema.encodeUnknownResult(error)
  const decodeError = error === undefined ? undefined : Schema.decodeUnknownResult(error)
  return {
    keepMillis: Duration.toMillis(keepResult === undefined ? DefaultKeepResult : Duration.fromInputUnsafe(keepResult)),
    encodeSuccess: (value) => attempt(() => encodeSuccess(value)),
    decodeSuccess: (encoded) => attempt(() => decodeSuccess(encoded)),
    encodeError: (failure) => {
      if (encodeError === undefined) return undefined
      const encoded = attempt(() => encodeError(failure))
      return Result.isSuccess(encoded) ? encoded.success : undefined
    },
    decodeError: (encoded) => (decodeError === undefined ? undefined : attempt(() => decodeError(encoded))),
  }
}

/** Any worker, whatever its args and errors. */
export type AnyWorker<R = never> = Worker<unknown, unknown, R, unknown>

/**
 * Services every job gets from the runtime: the running job, and a client to enqueue more jobs
 * (on the same store; in the testing kit's inline mode, one that runs them inline).
 */
export type JobServices = CurrentJob | Client

/** A worker as the registry hands it out: its own services provided, the job's still needed. */
export interface RegisteredWorker extends AnyWorker<JobServices> {
  /**
   * `run` with the job's services given rather than read from the context: what the processor
   * calls for every job when the registry offers it (`layerRegistry`'s does). `span` is the job's
   * span, when it has one (the processor makes one only when a tracer can see it).
   */
  readonly perform?: (
    args: WireArgs,
    job: CurrentJob["Service"],
    client: Client["Service"],
    span: Tracer.AnySpan | undefined,
  ) => Effect.Effect<unknown, unknown>
}

/** The services a list of workers needs, besides the job's own. */
export type ServicesOf<Workers extends ReadonlyArray<AnyWorker<unknown>>> = [Workers[number]] extends [never]
  ? never
  : Exclude<Workers[number] extends Worker<infer _A, infer _E, infer R> ? R : never, JobServices>

/** Whether `value` is a worker made by `make` (by any copy of this library). */
export const isWorker = (value: unknown): value is AnyWorker<unknown> =>
  typeof value === "object" && value !== null && (value as { readonly [TypeId]?: unknown })[TypeId] === TypeId

/**
 * A worker: the definition `Client.enqueue` takes and `Verk.layer` registers. Throws
 * `InvalidQueueName` when `queue` breaks `Settings.QueueNameRule` (a bug in the definition, caught
 * where it is written rather than at the first enqueue).
 */
export function make<A, E = never, R = never, S = void>(
  options: WorkerOptions<A, E, R, S> & { readonly success: Schema.Codec<S, unknown> },
): ResultWorker<A, E, R, S>
export function make<A, E = never, R = never, S = void>(options: WorkerOptions<A, E, R, S>): Worker<A, E, R, S>
export function make<A, E = never, R = never, S = void>(options: WorkerOptions<A, E, R, S>): Worker<A, E, R, S> {
  const queue = options.queue ?? "default"
  if (queueNameProblem(queue) !== undefined) throw new InvalidQueueName({ worker: options.name, queue })
  const invalid = (error: Schema.SchemaError) => new InvalidJobArgs({ worker: options.name, reason: error.message })
  const encode = Schema.encodeEffect(options.args)
  // Synchronous (see `WorkerOptions.args`): an Exit, which is also the Effect the job runs.
  const decode = Schema.decodeUnknownExit(options.args)
  const decodeArgs = (wire: WireArgs): Exit.Exit<A, InvalidJobArgs> => Exit.mapError(decode(wire), invalid)
  return {
    [TypeId]: TypeId,
    name: options.name,
    queue,
    retry: options.retry,
    retryPolicy: options.retryPolicy,
    unique: options.unique,
    limits: options.limits === undefined || options.limits.length === 0 ? undefined : options.limits,
    retryable: options.retryable ?? (() => true),
    timeout: options.timeout === undefined ? undefined : Duration.fromInputUnsafe(options.timeout),
    // Encoding then decoding validates checks that a plain encode would skip.
    encodeArgs: (args) =>
      encode(args).pipe(
        Effect.mapError(invalid),
        Effect.tap((wire) => decodeArgs(wire)),
      ),
    decodeArgs,
    // Untraced: the processor's span for the job carries its class, and this runs for every job.
    // Decoded args go straight to perform: one step, no Effect around the decoding.
    run: (wire: WireArgs) => {
      const decoded = decode(wire)
      return Exit.isSuccess(decoded) ? options.perform(decoded.value) : Exit.asVoid(Exit.mapError(decoded, invalid))
    },
    results:
      options.success === undefined ? undefined : resultCodec(options.success, options.error, options.keepResult),
  }
}

/**
 * Maps wire class names to workers. The layer captures the services the workers need, so the
 * runtime can run any job without knowing them.
 */
export class WorkerRegistry extends Context.Service<
  WorkerRegistry,
  {
    readonly resolve: (className: string) => Effect.Effect<RegisteredWorker, UnknownJobClass>
    /** The worker of `className`, or `undefined` when none is registered (the job's path asks this). */
    readonly lookup: (className: string) => RegisteredWorker | undefined
    readonly names: ReadonlyArray<string>
  }
>()("@verk/core/WorkerRegistry") {}

/**
 * The registry of `workers`; it captures the services they need, so the runtime can run any job.
 * The same worker listed twice counts once; two different workers with one name are a defect
 * (`DuplicateWorkerName`) when the layer is built.
 */
export const layerRegistry = <const Workers extends ReadonlyArray<AnyWorker<unknown>>>(
  workers: Workers,
): Layer.Layer<WorkerRegistry, never, ServicesOf<Workers>> =>
  Layer.effect(
    WorkerRegistry,
    Effect.gen(function* () {
      // Flat, so that the few services added for each job stay cheap overlays on it.
      const captured = Context.makeUnsafe<unknown>(new Map((yield* Effect.context<ServicesOf<Workers>>()).mapUnsafe))
      // The processor's client is the same for every job: the context with it is made once.
      let withClient: { readonly client: Client["Service"]; readonly context: Context.Context<unknown> } | undefined
      const base = (client: Client["Service"]) => {
        if (withClient?.client !== client) withClient = { client, context: Context.add(captured, Client, client) }
        return withClient.context
      }
      const byName = new Map<string, RegisteredWorker>()
      const given = new Map<string, AnyWorker<unknown>>()
      for (const worker of workers) {
        const earlier = given.get(worker.name)
        if (earlier === worker) continue
        if (earlier !== undefined) {
          return yield* Effect.die(
            new DuplicateWorkerName({ name: worker.name, queues: [earlier.queue, worker.queue] }),
          )
        }
        given.set(worker.name, worker)
        const registered: RegisteredWorker = {
          ...worker,
          // The job's own services come from whoever runs it; everything else from here.
          run: (args) =>
            Effect.updateContext(
              worker.run(args),
              (current: Context.Context<JobServices>) => Context.merge(current, captured) as Context.Context<unknown>,
            ) as Effect.Effect<unknown, unknown, JobServices>,
          // The services captured here, the job's, and the job's span: no merge per job. Replaced,
          // not merged into the fiber's: a merge copies every service, for every job.
          perform: (args, job, client, span) => {
            const context = Context.add(base(client), CurrentJob, job)
            return Effect.updateContext(worker.run(args) as Effect.Effect<unknown, unknown, unknown>, () =>
              span === undefined ? context : Context.add(context, Tracer.ParentSpan, span),
            )
          },
        }
        byName.set(worker.name, registered)
      }
      return {
        names: [...byName.keys()],
        lookup: (className: string) => byName.get(className),
        resolve: (className: string) => {
          const worker = byName.get(className)
          return worker === undefined ? Effect.fail(new UnknownJobClass({ className })) : Effect.succeed(worker)
        },
      }
    }),
  )
