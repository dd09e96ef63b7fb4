/**
 * Jobs in worker threads on Node: core's `Threads.ThreadRunner` as a pool of `worker_threads`
 * owned by the layer's scope.
 *
 * Each thread runs ThreadMain.ts, which loads the workers' module (`module`, as `verk run` loads
 * it), builds its `layer` once and says `Ready`; then it runs one job at a time. Idle threads wait
 * in a queue, taken in order by the jobs that need one.
 *
 * Ending a job early: the worker's `timeout` (counted once a thread has the job), a cancel, or a
 * shutdown past its grace terminates the thread at once (`Worker.terminate`, which stops even a
 * synchronous loop). A thread that exits or crashes while it runs a job (`process.exit`, an
 * uncaught error, out of memory) fails that job with `Verk::ThreadExited`, to be retried like any
 * failure. Either way a new thread takes its place. A thread that cannot start (the module or its
 * layer fails in it) fails one waiting job with `Verk::ThreadStartFailed` and is tried again a
 * second later. Closing the layer asks each thread to close its services, and terminates those
 * that take longer than 5 seconds.
 *
 * Why not Effect's platform workers (`effect/workers/Worker`, `@effect/platform-node`'s
 * `NodeWorker`): they fit the messaging, but ending a thread there is a polite close that waits a
 * fixed 5 seconds before it terminates, which a spinning thread never reads, so the raw `Worker`
 * had to be kept beside them for the timeout anyway; and a start that fails, an exit code and a
 * crash's error all reach the caller as one `WorkerError`. The plain port is shorter than that.
 */
import Module from "node:module"
import { availableParallelism } from "node:os"
import * as WorkerThreads from "node:worker_threads"
import { type CurrentJob, Threads } from "@verk/core"
import type * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type { FromThread, ThreadData, ToThread } from "./ThreadWire.ts"

/** What `layer` takes. */
export interface Options {
  /**
   * The module that exports the threaded workers (and the `layer` of their services), as a file
   * URL or a path: each thread imports it, so it must define workers and start nothing.
   * `new URL("./workers.ts", import.meta.url)` names a module beside the caller.
   */
  readonly module: URL | string
  /** How many threads (at least one); the machine's available parallelism when absent. */
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
  readonly worker: WorkerThreads.Worker
  /** Done, with why, once the thread has ended. */
  readonly ended: Deferred.Deferred<string>
  /** Whether it said `Ready` (the module loaded and its layer built). */
  ready: boolean
  job:
    | { readonly done: Deferred.Deferred<Threads.ThreadOutcome>; readonly progress: CurrentJob.ProgressSink }
    | undefined
}

/** A waiting job's answer when no thread could start (the module or its layer failed in one). */
interface StartFailed {
  readonly _tag: "StartFailed"
  readonly reason: string
}

/** How long a thread that could not start waits before the next try. */
const RestartDelay = "1 second"

/** How long a closing thread may take to close the module's services before it is terminated. */
const CloseGrace = "5 seconds"

const make = Effect.fnUntraced(function* (options: Options) {
  const module: ThreadData["module"] = typeof options.module === "string" ? options.module : options.module.href
  const size = Math.max(1, Math.floor(options.size ?? availableParallelism()))
  // Idle threads, and a failed start's answer for a waiting job; taken one at a time, in order.
  const idle = yield* Queue.unbounded<Thread | StartFailed>()
  const live = new Set<Thread>()
  let closing = false
  // How many jobs wait for a thread: only they hear of a thread that could not start.
  let waiting = 0
  const fibers = yield* FiberSet.make()
  const runFork = yield* FiberSet.runtime(fibers)<never>()

  /** A new thread; it joins `idle` once it says `Ready`, and is replaced once it ends. */
  const start = (): void => {
    const workerData: ThreadData = { module, compileCache: Module.getCompileCacheDir?.() }
    const worker = new WorkerThreads.Worker(entry, { workerData })
    const thread: Thread = { worker, ended: Deferred.makeUnsafe<string>(), ready: false, job: undefined }
    live.add(thread)
    let crash: Error | undefined
    worker.on("message", (message: FromThread) => {
      if (message._tag === "Ready") {
        thread.ready = true
        Queue.offerUnsafe(idle, thread)
      } else if (message._tag === "Progress") {
        thread.job && runFork(thread.job.progress({ percent: message.percent, message: message.message }))
      } else if (thread.job !== undefined) {
        Deferred.doneUnsafe(thread.job.done, Exit.succeed(message.outcome))
      }
    })
    worker.on("error", (error) => (crash = error))
    worker.once("exit", (code) => {
      live.delete(thread)
      const reason = crash === undefined ? `it exited with code ${code}` : `it crashed: ${crash.name}: ${crash.message}`
      Deferred.doneUnsafe(thread.ended, Exit.succeed(reason))
      const job = thread.job
      if (job !== undefined) {
        const failure = { errorClass: ThreadExitedClass, message: `the job's worker thread ended: ${reason}` }
        Deferred.doneUnsafe(job.done, Exit.succeed<Threads.ThreadOutcome>({ _tag: "Failure", failure }))
      }
      if (closing) return
      if (thread.ready) return start()
      // It never started: a job waiting for a thread learns why, and the next try waits a little.
      if (waiting > 0) Queue.offerUnsafe(idle, { _tag: "StartFailed", reason })
      runFork(
        Effect.andThen(
          Effect.logError(`A worker thread could not start (${reason}); trying again in ${RestartDelay}`),
          Effect.delay(Effect.sync(start), RestartDelay),
        ),
      )
    })
  }

  yield* Effect.addFinalizer(() =>
    Effect.suspend(() => {
      closing = true
      // Idle by now (the runtime closed first): each closes its services, or is terminated.
      return Effect.forEach(
        [...live],
        (thread) => {
          thread.worker.postMessage({ _tag: "Close" } satisfies ToThread)
          return Effect.timeoutOption(Deferred.await(thread.ended), CloseGrace).pipe(
            Effect.andThen(Effect.promise(() => thread.worker.terminate())),
          )
        },
        { concurrency: "unbounded", discard: true },
      )
    }),
  )
  for (let n = 0; n < size; n++) start()

  /** An idle thread (skipping any that ended while idle: their replacements are on the way). */
  const take: Effect.Effect<Thread | StartFailed> = Effect.suspend(() => {
    waiting++
    return Effect.flatMap(
      Effect.ensuring(
        Queue.take(idle),
        Effect.sync(() => waiting--),
      ),
      (taken) => ("_tag" in taken || !Deferred.isDoneUnsafe(taken.ended) ? Effect.succeed(taken) : take),
    )
  })

  // Started before the node takes jobs: a module that fails in a thread is reported now.
  const first = yield* take
  if ("_tag" in first) yield* Effect.logError(`Worker threads cannot start; threaded jobs will fail: ${first.reason}`)
  else Queue.offerUnsafe(idle, first)

  /** Ends the thread now, whatever it runs (a synchronous loop included), and waits until it has. */
  const terminate = (thread: Thread) =>
    Effect.andThen(
      Effect.promise(() => thread.worker.terminate()),
      Deferred.await(thread.ended),
    )

  const perform = (request: Threads.ThreadRequest): Effect.Effect<Threads.ThreadOutcome, Cause.TimeoutError> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(restore(take), (taken) => {
        if ("_tag" in taken) {
          const failure = {
            errorClass: ThreadStartFailedClass,
            message: `no worker thread could start: ${taken.reason}`,
          }
          return Effect.succeed<Threads.ThreadOutcome>({ _tag: "Failure", failure })
        }
        const thread = taken
        const done = Deferred.makeUnsafe<Threads.ThreadOutcome>()
        thread.job = { done, progress: request.progress }
        if (Deferred.isDoneUnsafe(thread.ended)) {
          // It ended between the take and now: the job fails (retried) rather than wait for nobody.
          const failure = { errorClass: ThreadExitedClass, message: "the job's worker thread ended before the job" }
          Deferred.doneUnsafe(done, Exit.succeed<Threads.ThreadOutcome>({ _tag: "Failure", failure }))
        }
        thread.worker.postMessage({ _tag: "Run", worker: request.worker, payload: request.payload } satisfies ToThread)
        const answer = Deferred.await(done)
        return restore(request.timeout === undefined ? answer : Effect.timeout(answer, request.timeout)).pipe(
          Effect.onExit((exit) => {
            thread.job = undefined
            // Answered: back to the idle threads. Timed out or interrupted: it may still run, so it ends.
            if (Exit.isSuccess(exit) && !Deferred.isDoneUnsafe(thread.ended)) {
              Queue.offerUnsafe(idle, thread)
              return Effect.void
            }
            return Exit.isSuccess(exit) ? Effect.void : terminate(thread)
          }),
        )
      }),
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
