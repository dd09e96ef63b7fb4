/**
 * Jobs in worker threads on Node: core's `Threads.ThreadRunner` as a pool of `worker_threads`.
 *
 * Each thread runs ThreadMain.ts, which loads the workers' module (`module`, as `verk run` loads
 * it) and builds its `layer` once, then runs one job at a time. The messaging and the close
 * handshake are Effect's platform workers (`effect/workers/Worker` with `@effect/platform-node`'s
 * `NodeWorker`), the pool is Effect's `Pool`, and the pool's scope owns the threads.
 *
 * Ending a job early is this module's own: interrupting `perform` (the worker's `timeout`, a
 * cancel, a shutdown past its grace) terminates the thread at once (`Worker.terminate`, which stops
 * even a synchronous loop), rather than the platform's polite close, which a spinning thread never
 * reads. A thread that exits or crashes while it runs a job (`process.exit`, an uncaught error, out
 * of memory) fails that job with `Verk::ThreadExited`, to be retried like any failure. Either way
 * the thread leaves the pool and a new one takes its place.
 */
import { availableParallelism } from "node:os"
import * as WorkerThreads from "node:worker_threads"
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import { type CurrentJob, Threads } from "@verk/core"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Pool from "effect/Pool"
import * as Scope from "effect/Scope"
import * as EffectWorker from "effect/workers/Worker"
import type { FromThread, Run, ThreadData } from "./ThreadWire.ts"

/** What `layer` takes. */
export interface Options {
  /**
   * The module that exports the threaded workers (and the `layer` of their services), as a file
   * URL or a path: each thread imports it, so it must define workers and start nothing.
   * `new URL("./workers.ts", import.meta.url)` names a module beside the caller.
   */
  readonly module: URL | string
  /** How many threads; the machine's available parallelism when absent. */
  readonly size?: number | undefined
}

/** The `error_class` of a job whose thread exited or crashed before the job ended. */
export const ThreadExitedClass = "Verk::ThreadExited"

/** The `error_class` of a job that found no thread: the module or its layer failed in the thread. */
export const ThreadStartFailedClass = "Verk::ThreadStartFailed"

/** The thread's entry: the source beside this file when run from sources, the build's in `dist`. */
const entry = new URL(import.meta.url.endsWith(".ts") ? "./ThreadMain.ts" : "./ThreadMain.js", import.meta.url)

/** One thread of the pool, and the job it runs now. */
interface Thread {
  readonly id: number
  readonly send: (message: Run) => Effect.Effect<void, unknown>
  /** Done, with why, once the thread has ended. */
  readonly ended: Deferred.Deferred<string>
  job:
    | { readonly done: Deferred.Deferred<Threads.ThreadOutcome>; readonly progress: CurrentJob.ProgressSink }
    | undefined
}

/** A thread could not start (its module or layer failed): the job that waited for it fails. */
class ThreadStartFailed extends Data.TaggedError("ThreadStartFailed")<{ readonly reason: string }> {}

/** Why a thread ended, from the platform's failure (its exit code, or the error that killed it). */
const endedBecause = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause) as { readonly reason?: { readonly message?: unknown; readonly cause?: unknown } }
  const reason = error?.reason
  const inner = reason?.cause instanceof Error ? `: ${reason.cause.name}: ${reason.cause.message}` : ""
  return typeof reason?.message === "string" ? `${reason.message}${inner}` : String(Cause.pretty(cause))
}

const make = Effect.fnUntraced(function* (options: Options) {
  const module: ThreadData["module"] = typeof options.module === "string" ? options.module : options.module.href
  const spawned = new Map<number, WorkerThreads.Worker>()
  const spawn = (id: number) => {
    const worker = new WorkerThreads.Worker(entry, { workerData: { module } satisfies ThreadData, name: `verk-${id}` })
    spawned.set(id, worker)
    worker.once("exit", () => spawned.delete(id))
    return worker
  }
  const platform = yield* Layer.build(NodeWorker.layer(spawn))
  const scope = yield* Effect.scope
  let nextId = 0
  let pool: Pool.Pool<Thread, ThreadStartFailed> | undefined

  // The thread has ended: its job (if any) fails, and it leaves the pool (forked: this runs in
  // the thread's own fiber, which leaving the pool interrupts).
  const ended = (thread: Thread, reason: string) =>
    Effect.suspend(() => {
      Deferred.doneUnsafe(thread.ended, Effect.succeed(reason))
      const job = thread.job
      if (job !== undefined) {
        const failure = { errorClass: ThreadExitedClass, message: `the job's worker thread ended: ${reason}` }
        Deferred.doneUnsafe(job.done, Effect.succeed({ _tag: "Failure", failure }))
      }
      return pool === undefined ? Effect.void : Effect.forkIn(Pool.invalidate(pool, thread), scope)
    })

  const onMessage = (thread: Thread, message: FromThread): Effect.Effect<void> => {
    const job = thread.job
    if (job === undefined) return Effect.void
    if (message._tag === "Progress") return job.progress({ percent: message.percent, message: message.message })
    return Deferred.succeed(job.done, message.outcome)
  }

  const acquire = Effect.gen(function* () {
    const id = nextId++
    const backing = yield* EffectWorker.WorkerPlatform.use((platform) => platform.spawn<FromThread, Run>(id)).pipe(
      Effect.provideContext(platform),
      Effect.mapError((error) => new ThreadStartFailed({ reason: error.message })),
    )
    const ready = Deferred.makeUnsafe<void>()
    const thread: Thread = { id, send: backing.send, ended: Deferred.makeUnsafe<string>(), job: undefined }
    yield* backing
      .run((message) => onMessage(thread, message), { onSpawn: Deferred.succeed(ready, undefined) })
      .pipe(
        Effect.catchCause((cause) => ended(thread, endedBecause(cause))),
        Effect.provideContext(platform),
        Effect.forkScoped,
      )
    const started = yield* Effect.raceFirst(Effect.as(Deferred.await(ready), undefined), Deferred.await(thread.ended))
    if (started !== undefined) return yield* new ThreadStartFailed({ reason: started })
    return thread
  })

  const threads = yield* Pool.make({ acquire, size: options.size ?? availableParallelism() })
  pool = threads
  // Started before the node takes jobs: a module that fails in a thread is reported now.
  yield* Effect.scoped(Pool.get(threads)).pipe(
    Effect.catch((error) => Effect.logError(`Worker threads cannot start; threaded jobs will fail: ${error.reason}`)),
  )

  /** Ends the thread now, whatever it runs (a synchronous loop included), and waits until it has. */
  const terminate = (thread: Thread) =>
    Effect.andThen(
      Effect.promise(() => spawned.get(thread.id)?.terminate() ?? Promise.resolve(0)),
      Deferred.await(thread.ended),
    )

  const perform = (request: Threads.ThreadRequest): Effect.Effect<Threads.ThreadOutcome, Cause.TimeoutError> =>
    Effect.scoped(
      Effect.gen(function* () {
        const thread = yield* Pool.get(threads)
        const done = Deferred.makeUnsafe<Threads.ThreadOutcome>()
        thread.job = { done, progress: request.progress }
        yield* Scope.addFinalizer(
          yield* Effect.scope,
          Effect.sync(() => (thread.job = undefined)),
        )
        // A thread that ended while idle answers at once (see `ended`); the job is retried.
        if (Deferred.isDoneUnsafe(thread.ended)) yield* ended(thread, "before the job started")
        yield* Effect.catchCause(
          thread.send({ _tag: "Run", worker: request.worker, payload: request.payload }),
          (cause) => ended(thread, endedBecause(cause)),
        )
        const answer = Deferred.await(done).pipe(Effect.onInterrupt(() => terminate(thread)))
        return yield* request.timeout === undefined ? answer : Effect.timeout(answer, request.timeout)
      }),
    ).pipe(
      Effect.catchTag("ThreadStartFailed", (error) =>
        Effect.succeed<Threads.ThreadOutcome>({
          _tag: "Failure",
          failure: { errorClass: ThreadStartFailedClass, message: `no worker thread could start: ${error.reason}` },
        }),
      ),
    )

  return Threads.ThreadRunner.of({ perform })
})

/**
 * A pool of worker threads for the workers that `options.module` exports with `thread: true`:
 * provide it to `Verk.layer` (`verk run` does, for a module with a threaded worker). The threads
 * start with the layer and end with its scope (a running job's thread is terminated).
 */
export const layer = (options: Options): Layer.Layer<Threads.ThreadRunner> =>
  Layer.effect(Threads.ThreadRunner, make(options))
