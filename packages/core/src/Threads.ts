/**
 * Jobs in worker threads: the contract between the runtime and whoever owns the threads.
 *
 * A worker made with `thread: true` runs its jobs through the node's `ThreadRunner` rather than in
 * the node's own event loop. `@verk/node` provides one (its `Threads.layer`, and `verk run` when a
 * module has a threaded worker): a pool of Node worker threads, each of which loads the workers'
 * module and builds its `layer` once. Core only asks the runner to perform a job and turns the plain
 * answer (`ThreadOutcome`) back into the run's exit. The worker's `timeout` is counted from when a
 * thread takes the job; it, and interrupting the runner's effect (a cancel, a shutdown), are the
 * runner's cue to end the thread.
 *
 * What crosses is plain data: the job's wire text one way, and back its result encoded by the
 * worker's `success` schema, or its failure as class, message and backtrace (with the verdict of
 * the worker's `retryable`, and its typed error encoded by its `error` schema), decided in the
 * thread where the typed error lives.
 *
 * With no runner provided, a threaded worker's jobs fail with `ThreadsUnavailable` and are retried
 * (a node started with one may take them), and the node says so once at start. The testing kit's
 * real mode provides `layerInProcess`, which runs them in the node through the same path.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import { Client } from "./Client.ts"
import { CurrentJob, type ProgressSink } from "./CurrentJob.ts"
import * as Decide from "./internal/Decide.ts"
import { describeFailure } from "./internal/Failure.ts"
import { ThreadFailure } from "./internal/ThreadFailure.ts"
import * as Job from "./Job.ts"
import {
  type AnyWorker,
  layerRegistry,
  type RegisteredWorker,
  type ServicesOf,
  UnknownJobClass,
  WorkerRegistry,
} from "./Worker.ts"
import type { Worker } from "./WorkerDefinition.ts"

/** A failure that crossed from a worker thread: its `name` and `message` are the original's. */
export { ThreadFailure } from "./internal/ThreadFailure.ts"

/** How a job's run in a thread ended, as plain data (it crosses by structured clone). */
export type ThreadOutcome =
  | {
      readonly _tag: "Success"
      /** What `perform` returned, encoded by the worker's `success` schema; `undefined` without one. */
      readonly value: unknown
    }
  | {
      readonly _tag: "Failure"
      /** What the job's `error_class`, `error_message` and `error_backtrace` say. */
      readonly failure: Job.Failure
      /** Why retrying cannot help (an `Unrecoverable`, bad args, `retryable` said no), if it cannot. */
      readonly notRetryable?: string | undefined
      /** The typed failure encoded by the worker's `error` schema, if it has one. */
      readonly error?: unknown
    }

/** What the runtime asks a `ThreadRunner` to do: one job of one threaded worker. */
export interface ThreadRequest {
  /** The worker's name (the job's `class`). */
  readonly worker: string
  /** The job as it is on the wire (its text): the thread decodes it, args included. */
  readonly payload: string
  /** Where the job's progress reports go (`CurrentJob.progress` in the thread). */
  readonly progress: ProgressSink
  /**
   * The worker's `timeout`, counted from when a thread takes the job (not while it waits for a
   * free one): past it the thread is ended and `perform` fails with a `TimeoutError`.
   */
  readonly timeout: Duration.Duration | undefined
}

/**
 * Performs threaded workers' jobs. `perform` fails only with the job's timeout: a thread that
 * crashed or exited is a `Failure` outcome (the job is retried). Interrupting it, or its timeout,
 * must end the job's code at once, even a synchronous loop (the node package ends the thread).
 */
export class ThreadRunner extends Context.Service<
  ThreadRunner,
  {
    readonly perform: (request: ThreadRequest) => Effect.Effect<ThreadOutcome, Cause.TimeoutError>
  }
>()("@verk/core/ThreadRunner") {}

/** A threaded worker's job ran on a node with no `ThreadRunner`: it fails and is retried. */
export class ThreadsUnavailable extends Data.TaggedError("ThreadsUnavailable")<{ readonly worker: string }> {
  override get message() {
    return `${this.worker} runs in worker threads (thread: true), but this node has no thread pool (provide Threads.layer from @verk/node; verk run does)`
  }
}

/**
 * The plain outcome of a run in a thread (what the thread sends back): the success encoded by the
 * worker's `success` schema, or the failure described, with `retryable`'s verdict.
 */
export const settle = <R>(
  job: Job.Job,
  worker: Worker<unknown, unknown, R, unknown>,
  exit: Exit.Exit<unknown, unknown>,
): ThreadOutcome => {
  if (Exit.isSuccess(exit)) {
    const encoded = worker.results?.encodeSuccess(exit.value)
    return { _tag: "Success", value: encoded !== undefined && Result.isSuccess(encoded) ? encoded.success : undefined }
  }
  const error = Cause.findErrorOption(exit.cause)
  return {
    _tag: "Failure",
    failure: describeFailure(exit.cause),
    // Decide reads only the worker's `retryable`, whatever services its `perform` needs.
    notRetryable: Decide.notRetryable(job, worker as unknown as RegisteredWorker, exit),
    error: error._tag === "Some" ? worker.results?.encodeError(error.value) : undefined,
  }
}

/** The run's exit from a thread's outcome: the success decoded again, a failure as `ThreadFailure`. */
export const toExit = <R>(
  worker: Worker<unknown, unknown, R, unknown>,
  outcome: ThreadOutcome,
): Exit.Exit<unknown, ThreadFailure> => {
  if (outcome._tag === "Failure") {
    return Exit.fail(new ThreadFailure(outcome.failure, outcome.notRetryable, outcome.error))
  }
  if (worker.results === undefined) return Exit.void
  const decoded = worker.results.decodeSuccess(outcome.value)
  return Exit.succeed(Result.isSuccess(decoded) ? decoded.success : outcome.value)
}

/**
 * The job of a threaded worker, performed through `threads` (or failing when there is none), with
 * the worker's timeout counted in the thread (see `ThreadRequest.timeout`).
 */
export const perform = <R>(
  threads: ThreadRunner["Service"] | undefined,
  worker: Worker<unknown, unknown, R, unknown>,
  payload: string,
  progress: ProgressSink,
): Effect.Effect<unknown, ThreadFailure | ThreadsUnavailable | Cause.TimeoutError> =>
  threads === undefined
    ? Effect.fail(new ThreadsUnavailable({ worker: worker.name }))
    : Effect.flatMap(threads.perform({ worker: worker.name, payload, progress, timeout: worker.timeout }), (outcome) =>
        toExit(worker, outcome),
      )

/**
 * A `ThreadRunner` that runs the jobs in the node's own event loop, through the same plain-data
 * path as a thread (decoded from the wire text, settled into an outcome): the testing kit's real
 * mode uses it, so that threaded workers run under `TestClock`. It isolates nothing: a synchronous
 * loop blocks the node, and the timeout interrupts the job only where it yields.
 */
export const layerInProcess = <const Workers extends ReadonlyArray<AnyWorker<unknown>>>(
  workers: Workers,
): Layer.Layer<ThreadRunner, never, Client | ServicesOf<Workers>> =>
  Layer.effect(
    ThreadRunner,
    Effect.gen(function* () {
      const registry = yield* Effect.provide(WorkerRegistry, layerRegistry(workers))
      const client = yield* Client
      const perform = (request: ThreadRequest): Effect.Effect<ThreadOutcome, Cause.TimeoutError> => {
        const decoded = Job.decodeResult(request.payload)
        if (Result.isFailure(decoded)) {
          return Effect.succeed({
            _tag: "Failure",
            failure: { errorClass: "MalformedJob", message: decoded.failure.reason },
          })
        }
        const job = decoded.success
        const worker = registry.lookup(request.worker)
        if (worker === undefined) {
          const error = new UnknownJobClass({ className: request.worker })
          return Effect.succeed({ _tag: "Failure", failure: { errorClass: error._tag, message: error.message } })
        }
        const current = CurrentJob.fromJob(job, request.progress)
        const run = Effect.suspend(() =>
          worker.run(job.args).pipe(Effect.provideService(CurrentJob, current), Effect.provideService(Client, client)),
        )
        const settled = Effect.map(Effect.exit(run), (exit) => settle(job, worker, exit))
        return request.timeout === undefined ? settled : Effect.timeout(settled, request.timeout)
      }
      return ThreadRunner.of({ perform })
    }),
  )
