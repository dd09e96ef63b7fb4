/**
 * One worker thread of Threads.ts (its entry, ThreadMain.ts, loads this). It loads the workers' module as `verk run` does
 * (cli/load.ts: a `Verk.module` default export, or the exported workers and `layer`), builds the
 * module's layer once for the thread's life, says `Ready`, then runs the jobs the node sends, one
 * at a time, answering each with its outcome as plain data (core's `Threads.settle`). `Close`
 * closes the layer (its finalizers run) and ends the thread.
 *
 * A module that does not load, or a layer that fails, ends the thread with code 1 (logged here)
 * before `Ready`: the node counts that as a thread that could not start.
 */
import { fileURLToPath } from "node:url"
import { parentPort, workerData } from "node:worker_threads"
import { CurrentJob, Job, Threads, type Worker } from "@verk/core"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import { load } from "./cli/load.ts"
import type { FromThread, Run, ThreadData, ToThread } from "./ThreadWire.ts"

const port = parentPort!
const send = (message: FromThread) => port.postMessage(message)

/** The outcome of a job the thread cannot run at all (not a job, or not one of its workers). */
const failed = (errorClass: string, message: string): Threads.ThreadOutcome => ({
  _tag: "Failure",
  failure: { errorClass, message },
})

/** One job: decoded from its wire text, run with the module's services and its `CurrentJob`. */
const perform = (workers: ReadonlyMap<string, Worker.AnyWorker<unknown>>, request: Run) => {
  const decoded = Job.decodeResult(request.payload)
  if (Result.isFailure(decoded)) return Effect.succeed(failed("MalformedJob", decoded.failure.reason))
  const job = decoded.success
  const worker = workers.get(request.worker)
  if (worker === undefined) {
    return Effect.succeed(failed("UnknownJobClass", `The thread's module has no worker named "${request.worker}"`))
  }
  const current = CurrentJob.CurrentJob.fromJob(job, ({ percent, message }) =>
    Effect.sync(() => send({ _tag: "Progress", percent, message })),
  )
  const run = Effect.suspend(() => worker.run(job.args)).pipe(
    Effect.provideService(CurrentJob.CurrentJob, current),
  ) as Effect.Effect<unknown, unknown>
  return Effect.map(Effect.exit(run), (exit) => Threads.settle(job, worker, exit))
}

const main = Effect.gen(function* () {
  const { module } = workerData as ThreadData
  const loaded = yield* load(module.startsWith("file:") ? fileURLToPath(module) : module)
  const services = (yield* Layer.build(loaded.layer ?? Layer.empty)) as Context.Context<never>
  const workers = new Map(loaded.workers.map((worker) => [worker.name, worker]))
  // Jobs run with the module's services, each as a fiber of its own; the node sends one at a time.
  const runFork = Effect.runForkWith(services)
  const closed = Deferred.makeUnsafe<void>()
  port.on("message", (message: ToThread) => {
    if (message._tag === "Close") return Deferred.doneUnsafe(closed, Effect.void)
    runFork(perform(workers, message)).addObserver((exit) => {
      const outcome: Threads.ThreadOutcome =
        exit._tag === "Success" ? exit.value : failed("Verk::ThreadFailed", "the thread could not run the job")
      send({ _tag: "Done", outcome })
    })
  })
  send({ _tag: "Ready" })
  yield* Deferred.await(closed)
}).pipe(Effect.scoped)

Effect.runFork(
  main.pipe(
    Effect.catchCause((cause) =>
      Effect.andThen(
        Effect.logError("A worker thread could not start", cause),
        Effect.sync(() => process.exit(1)),
      ),
    ),
    Effect.andThen(Effect.sync(() => process.exit(0))),
  ),
)
