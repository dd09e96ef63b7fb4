/**
 * Putting jobs on queues: typed `enqueue` for registered workers, `enqueueRaw` like Sidekiq's
 * client, `enqueueMany` in batches (one store round trip per batch) and `schedule`. Timestamps come
 * from `Clock`, so `TestClock` controls them.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Job from "./Job.ts"
import * as JobResult from "./JobResult.ts"
import { QueueNameRule, queueNameProblem } from "./Settings.ts"
import { JobStore, type StoreError } from "./Store.ts"
import * as Trace from "./Trace.ts"
import * as Unique from "./Unique.ts"
import type { InvalidJobArgs, ResultWorker, WireArgs, Worker } from "./WorkerDefinition.ts"

/**
 * A queue name outside `Settings.QueueNameRule`, where a worker's job is sent to one: `enqueue`,
 * `enqueueMany` and `schedule` fail with it (nothing is written), and `Worker.make` throws it (a
 * worker's queue is code, so a bad one is a bug). No node could serve such a queue: the settings
 * refuse its name. (`enqueueRaw` and `scheduleRaw` refuse one as a `MalformedJob`, as any other
 * hand-described job Verk cannot write.)
 */
export class InvalidQueueName extends Data.TaggedError("InvalidQueueName")<{
  /** The worker whose job it is. */
  readonly worker: string
  readonly queue: string
}> {
  override get message() {
    return `Invalid queue for ${this.worker}: ${JSON.stringify(this.queue)} is not a queue name: ${QueueNameRule}`
  }
}

/** Options of `enqueue`, `enqueueMany` and `schedule`: what to change from the worker's defaults. */
export interface EnqueueOptions {
  /** Overrides the worker's queue (checked: see `InvalidQueueName`). */
  readonly queue?: string | undefined
  /** Overrides the worker's retry option. */
  readonly retry?: boolean | number | undefined
  /** A jid of your own (any non-empty string); a fresh 24-hex jid when absent. */
  readonly jid?: string | undefined
}

/** Options of `enqueueUnique`: an enqueue's, and the lock's (over the worker's `unique`). */
export interface UniqueEnqueueOptions<A> extends EnqueueOptions {
  readonly unique?: Unique.UniqueOptions<A> | undefined
}

/**
 * What `buildJob` takes: a class and its args, and any other key of Sidekiq's format (`queue`,
 * `jid`, `retry`, ...), checked only when the built job is decoded.
 */
export interface JobInput {
  readonly class: string
  readonly args: WireArgs
  readonly [key: string]: unknown
}

/** A job described by hand, as Sidekiq's `Client.push` takes it. Extra keys are written as given. */
export interface RawJobInput extends JobInput {
  readonly queue?: string | undefined
  readonly jid?: string | undefined
  readonly retry?: boolean | number | undefined
  readonly [key: string]: unknown
}

/** When to run: an instant, or a delay from now. A time in the past means now. */
export type When = DateTime.DateTime | Duration.Input

/** Jobs per store round trip in `enqueueMany`. */
export const EnqueueBatchSize = 1_000

/** The client's operations (see `Client`). */
export interface ClientShape {
  readonly enqueue: <A, E, R>(
    worker: Worker<A, E, R>,
    args: A,
    options?: EnqueueOptions,
  ) => Effect.Effect<Job.Job, InvalidJobArgs | InvalidQueueName | StoreError>
  readonly enqueueMany: <A, E, R>(
    worker: Worker<A, E, R>,
    argsList: Iterable<A>,
    options?: EnqueueOptions,
  ) => Effect.Effect<ReadonlyArray<Job.Job>, InvalidJobArgs | InvalidQueueName | StoreError>
  readonly enqueueRaw: (job: RawJobInput) => Effect.Effect<Job.Job, Job.MalformedJob | StoreError>
  readonly schedule: <A, E, R>(
    worker: Worker<A, E, R>,
    args: A,
    when: When,
    options?: EnqueueOptions,
  ) => Effect.Effect<Job.Job, InvalidJobArgs | InvalidQueueName | StoreError>
  readonly scheduleRaw: (job: RawJobInput, when: When) => Effect.Effect<Job.Job, Job.MalformedJob | StoreError>
  /**
   * A unique job (see Unique.ts): the lock of its key and the job are written together, or, the
   * lock being held, nothing is written and the result names the holder (`Duplicate`); with
   * `debounce`, a holder still waiting is given these args and a new run time (`Replaced`).
   */
  readonly enqueueUnique: <A, E, R>(
    worker: Worker<A, E, R>,
    args: A,
    options?: UniqueEnqueueOptions<A>,
  ) => Effect.Effect<Unique.Result, InvalidJobArgs | InvalidQueueName | StoreError>
}

/** Options of `buildJob`. */
export interface BuildOptions {
  /** The time the job is built at: its `created_at` (and `enqueued_at`). */
  readonly nowMillis: number
  /** Stamp `enqueued_at`: true for a job put on a queue now, false for one that waits in `schedule`. */
  readonly enqueued: boolean
  /** The enqueuer's span (Trace.ts), written unless the input names a `traceparent` itself. */
  readonly traceparent?: string | undefined
}

/**
 * The wire job a client writes for `input`, as Sidekiq's client builds it: a fresh jid, queue
 * `default` and `retry: true` unless the input gives them, `created_at`, and `enqueued_at` unless
 * the job waits in `schedule` (Sidekiq leaves it out there too); every other key as given. The
 * result is validated by `Job.decode`, which keeps foreign readers (Sidekiq) and our own fetcher in
 * agreement: input that is not a job, or args that cannot be written as JSON (too deep, cyclic, a
 * BigInt), are a `MalformedJob`, not a crash. So is a queue name outside `Settings.QueueNameRule`
 * (no node could serve it). Used by this client and by `verk enqueue`.
 */
export const buildJob = (input: JobInput, options: BuildOptions): Result.Result<Job.Job, Job.MalformedJob> => {
  const now = Job.toEpochSeconds(options.nowMillis)
  const { class: className, args, queue, jid, retry, ...extra } = input
  const { traceparent } = options
  const queueProblem = typeof queue === "string" ? queueNameProblem(queue) : undefined
  if (queueProblem !== undefined) {
    return Result.fail(new Job.MalformedJob({ raw: `${className}(...)`, reason: queueProblem }))
  }
  const job = {
    ...extra,
    class: className,
    args,
    jid: jid ?? Job.makeJid(),
    queue: queue ?? "default",
    retry: retry ?? true,
    created_at: now,
    ...(options.enqueued ? { enqueued_at: now } : {}),
    ...(traceparent === undefined || extra[Trace.Key] !== undefined ? {} : { [Trace.Key]: traceparent }),
  }
  let text: string
  try {
    text = JSON.stringify(job)
  } catch (error) {
    const reason = `args cannot be written as JSON: ${error instanceof Error ? error.message : String(error)}`
    return Result.fail(new Job.MalformedJob({ raw: `${className}(...)`, reason }))
  }
  return Job.decodeResult(text)
}

const runAtMillis = (when: When, nowMillis: number): number =>
  DateTime.isDateTime(when)
    ? DateTime.toEpochMillis(when)
    : nowMillis + Duration.toMillis(Duration.fromInputUnsafe(when))

/** The queue a worker's job goes to, checked against `Settings.QueueNameRule`. */
const queueFor = <A, E, R>(
  worker: Worker<A, E, R>,
  options: EnqueueOptions | undefined,
): Effect.Effect<string, InvalidQueueName> => {
  const queue = options?.queue ?? worker.queue
  return queueNameProblem(queue) === undefined
    ? Effect.succeed(queue)
    : Effect.fail(new InvalidQueueName({ worker: worker.name, queue }))
}

const workerInput = <A, E, R>(worker: Worker<A, E, R>, args: WireArgs, options?: EnqueueOptions): RawJobInput => ({
  class: worker.name,
  args,
  queue: options?.queue ?? worker.queue,
  jid: options?.jid,
  retry: options?.retry ?? worker.retry,
})

/** Our own jobs are built from validated args, so a malformed one is a bug, not bad input. */
const dieOnMalformed = <A, E>(
  effect: Effect.Effect<A, E | Job.MalformedJob>,
): Effect.Effect<A, Exclude<E, Job.MalformedJob>> =>
  Effect.catchIf(
    effect,
    (error): error is Job.MalformedJob => error instanceof Job.MalformedJob,
    Effect.die,
  ) as Effect.Effect<A, Exclude<E, Job.MalformedJob>>

/** The client over the store's job path (`Store.JobStore`) in context. */
export const make = Effect.gen(function* () {
  const store = yield* JobStore

  // The public operations open a span each (Effect.fn) and read the caller's trace context there;
  // these do the work, with no span of their own, so the caller stays the span a job names.
  const push = Effect.fnUntraced(function* (input: RawJobInput, traceparent: string | undefined) {
    const nowMillis = yield* Clock.currentTimeMillis
    const job = yield* Effect.fromResult(buildJob(input, { nowMillis, enqueued: true, traceparent }))
    yield* store.enqueue(job.queue, [Job.encode(job)])
    return job
  })

  const pushAt = Effect.fnUntraced(function* (input: RawJobInput, when: When, traceparent: string | undefined) {
    const now = yield* Clock.currentTimeMillis
    const at = runAtMillis(when, now)
    if (at <= now) return yield* push(input, traceparent)
    const job = yield* Effect.fromResult(buildJob(input, { nowMillis: now, enqueued: false, traceparent }))
    yield* store.addScheduled("schedule", [{ payload: Job.encode(job), score: Job.toEpochSeconds(at) }])
    return job
  })

  const enqueueRaw = Effect.fn("Client.enqueueRaw")(function* (input: RawJobInput) {
    return yield* push(input, yield* Trace.callerTraceparent)
  })

  const scheduleRaw = Effect.fn("Client.scheduleRaw")(function* (input: RawJobInput, when: When) {
    return yield* pushAt(input, when, yield* Trace.callerTraceparent)
  })

  const enqueue = Effect.fn("Client.enqueue")(function* <A, E, R>(
    worker: Worker<A, E, R>,
    args: A,
    options?: EnqueueOptions,
  ) {
    yield* queueFor(worker, options)
    const wire = yield* worker.encodeArgs(args)
    return yield* dieOnMalformed(push(workerInput(worker, wire, options), yield* Trace.callerTraceparent))
  })

  const enqueueMany = Effect.fn("Client.enqueueMany")(function* <A, E, R>(
    worker: Worker<A, E, R>,
    argsList: Iterable<A>,
    options?: EnqueueOptions,
  ) {
    const queue = yield* queueFor(worker, options)
    const now = yield* Clock.currentTimeMillis
    const traceparent = yield* Trace.callerTraceparent
    const jobs: Array<Job.Job> = []
    for (const args of argsList) {
      const wire = yield* worker.encodeArgs(args)
      const built = buildJob(workerInput(worker, wire, options), { nowMillis: now, enqueued: true, traceparent })
      jobs.push(yield* dieOnMalformed(Effect.fromResult(built)))
    }
    for (let start = 0; start < jobs.length; start += EnqueueBatchSize) {
      yield* store.enqueue(queue, jobs.slice(start, start + EnqueueBatchSize).map(Job.encode))
    }
    return jobs
  })

  const schedule = Effect.fn("Client.schedule")(function* <A, E, R>(
    worker: Worker<A, E, R>,
    args: A,
    when: When,
    options?: EnqueueOptions,
  ) {
    yield* queueFor(worker, options)
    const wire = yield* worker.encodeArgs(args)
    return yield* dieOnMalformed(pushAt(workerInput(worker, wire, options), when, yield* Trace.callerTraceparent))
  })

  const enqueueUnique = Effect.fn("Client.enqueueUnique")(function* <A, E, R>(
    worker: Worker<A, E, R>,
    args: A,
    options?: UniqueEnqueueOptions<A>,
  ) {
    const queue = yield* queueFor(worker, options)
    const wire = yield* worker.encodeArgs(args)
    const lock: Unique.UniqueOptions<A> = { ...worker.unique, ...options?.unique }
    const { until, ttlMillis, debounceMillis } = Unique.resolve(lock)
    const digest = Unique.digest(worker.name, queue, Unique.keyOf(lock, args, wire))
    const input = { ...workerInput(worker, wire, options), [Unique.KeyField]: digest, [Unique.UntilField]: until }
    const nowMillis = yield* Clock.currentTimeMillis
    const traceparent = yield* Trace.callerTraceparent
    const built = buildJob(input, { nowMillis, enqueued: debounceMillis === undefined, traceparent })
    const job = yield* dieOnMalformed(Effect.fromResult(built))
    const reply = yield* store.pushUnique({
      queue,
      digest,
      jid: job.jid,
      ttlMillis,
      payload: Job.encode(job),
      at: debounceMillis === undefined ? undefined : Job.toEpochSeconds(nowMillis + debounceMillis),
      debounce: debounceMillis !== undefined,
    })
    switch (reply._tag) {
      case "Pushed":
        return { _tag: "Enqueued", job } satisfies Unique.Result
      case "Duplicate":
        return { _tag: "Duplicate", jid: reply.jid } satisfies Unique.Result
      case "Replaced":
        return { _tag: "Replaced", job: { ...job, jid: reply.jid } } satisfies Unique.Result
    }
  })

  return { enqueue, enqueueMany, enqueueRaw, schedule, scheduleRaw, enqueueUnique } satisfies ClientShape
})

/** Puts jobs on queues (and in `schedule`): `layer` provides it over a store (its `Store.JobStore` role). */
export class Client extends Context.Service<Client, ClientShape>()("@verk/core/Client") {}

/** A client writing to the store. */
export const layer: Layer.Layer<Client, never, JobStore> = Layer.effect(Client, make)

/** `Client.enqueue` as a plain function. */
export const enqueue = <A, E, R>(worker: Worker<A, E, R>, args: A, options?: EnqueueOptions) =>
  Client.use((client) => client.enqueue(worker, args, options))

/** `Client.enqueueMany` as a plain function. */
export const enqueueMany = <A, E, R>(worker: Worker<A, E, R>, argsList: Iterable<A>, options?: EnqueueOptions) =>
  Client.use((client) => client.enqueueMany(worker, argsList, options))

/** `Client.enqueueRaw` as a plain function. */
export const enqueueRaw = (job: RawJobInput) => Client.use((client) => client.enqueueRaw(job))

/** `Client.enqueueUnique` as a plain function. */
export const enqueueUnique = <A, E, R>(worker: Worker<A, E, R>, args: A, options?: UniqueEnqueueOptions<A>) =>
  Client.use((client) => client.enqueueUnique(worker, args, options))

/** `Client.schedule` as a plain function. */
export const schedule = <A, E, R>(worker: Worker<A, E, R>, args: A, when: When, options?: EnqueueOptions) =>
  Client.use((client) => client.schedule(worker, args, when, options))

/** Options of `result` (and `enqueueAndWait`). */
export interface ResultOptions {
  /** Give up with `JobResult.ResultTimeout` after this long; wait as long as it takes when absent. */
  readonly timeout?: Duration.Input | undefined
}

/**
 * The result of `worker`'s job `jid`, decoded with its `success` schema: at once when it is kept,
 * else when the job ends (no polling: see JobResult.ts). A job that dies fails the wait with its
 * death (`JobFailed` with the typed error, or `JobDied`), a cancelled one with `JobCancelled`.
 * Needs `JobResult.layer`. Only for a worker with a `success` schema (one without keeps nothing).
 */
export const result = <A, E, R, S>(
  worker: ResultWorker<A, E, R, S>,
  jid: string,
  options?: ResultOptions,
): Effect.Effect<S, JobResult.ResultError<E> | JobResult.ResultTimeout | StoreError, JobResult.Waiter> => {
  const wait = JobResult.Waiter.use((waiter) => waiter.record(jid))
  const timeout = options?.timeout
  const record =
    timeout === undefined
      ? wait
      : Effect.suspend(() => {
          const duration = Duration.fromInputUnsafe(timeout)
          return Effect.timeoutOrElse(wait, {
            duration,
            orElse: () => Effect.fail(new JobResult.ResultTimeout({ jid, timeoutMillis: Duration.toMillis(duration) })),
          })
        })
  return Effect.flatMap(record, (kept) => JobResult.decode(worker, jid, kept)).pipe(Effect.withSpan("Client.result"))
}

/**
 * `enqueue`, then wait for the job's result (`result`; `timeout` counts from the enqueue): like
 * BullMQ's `waitUntilFinished`. Needs `JobResult.layer` beside the client.
 */
export const enqueueAndWait = <A, E, R, S>(
  worker: ResultWorker<A, E, R, S>,
  args: A,
  options?: EnqueueOptions & ResultOptions,
): Effect.Effect<
  S,
  InvalidJobArgs | InvalidQueueName | StoreError | JobResult.ResultError<E> | JobResult.ResultTimeout,
  Client | JobResult.Waiter
> => Effect.flatMap(enqueue(worker, args, options), (job) => result(worker, job.jid, options))
