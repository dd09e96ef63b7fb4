/**
 * The entry of one worker thread of Threads.ts. It loads the workers' module as `verk run` does
 * (cli/load.ts: a `Verk.module` default export, or the exported workers and `layer`), builds the
 * module's layer once for the thread's life, then runs the jobs the node sends, one at a time,
 * answering each with its outcome as plain data (core's `Threads.settle`).
 *
 * A module that does not load, or a layer that fails, ends the thread with code 1 (logged here):
 * the node fails the job that waited for it (it is retried) and starts another thread for the next.
 */
import { fileURLToPath } from "node:url"
import { workerData } from "node:worker_threads"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import { CurrentJob, Job, Threads, type Worker } from "@verk/core"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as WorkerRunner from "effect/workers/WorkerRunner"
import { load } from "./cli/load.ts"
import type { FromThread, Run, ThreadData } from "./ThreadWire.ts"

/** The outcome of a job the thread cannot run at all (not a job, or not one of its workers). */
const failed = (errorClass: string, message: string): Threads.ThreadOutcome => ({
  _tag: "Failure",
  failure: { errorClass, message },
})

/** One job: decoded from its wire text, run with the module's services and its `CurrentJob`. */
const perform = (
  workers: ReadonlyMap<string, Worker.AnyWorker<unknown>>,
  services: Context.Context<never>,
  runner: WorkerRunner.WorkerRunner<FromThread, Run>,
  request: Run,
): Effect.Effect<Threads.ThreadOutcome> => {
  const decoded = Job.decodeResult(request.payload)
  if (Result.isFailure(decoded)) return Effect.succeed(failed("MalformedJob", decoded.failure.reason))
  const job = decoded.success
  const worker = workers.get(request.worker)
  if (worker === undefined) {
    return Effect.succeed(failed("UnknownJobClass", `The thread's module has no worker named "${request.worker}"`))
  }
  const current = CurrentJob.CurrentJob.fromJob(job, ({ percent, message }) =>
    runner.send(0, { _tag: "Progress", percent, message }),
  )
  const run = Effect.suspend(() => worker.run(job.args)).pipe(
    Effect.provideService(CurrentJob.CurrentJob, current),
    Effect.provideContext(services),
  ) as Effect.Effect<unknown, unknown>
  return Effect.map(Effect.exit(run), (exit) => Threads.settle(job, worker, exit))
}

const main = Effect.gen(function* () {
  const { module } = workerData as ThreadData
  const loaded = yield* load(module.startsWith("file:") ? fileURLToPath(module) : module)
  const services = (yield* Layer.build(loaded.layer ?? Layer.empty)) as Context.Context<never>
  const workers = new Map(loaded.workers.map((worker) => [worker.name, worker]))
  const runner = yield* (yield* WorkerRunner.WorkerRunnerPlatform).start<FromThread, Run>()
  yield* runner.run((_port, request) =>
    Effect.flatMap(perform(workers, services, runner, request), (outcome) => runner.send(0, { _tag: "Done", outcome })),
  )
}).pipe(Effect.scoped, Effect.provide(NodeWorkerRunner.layer))

Effect.runFork(
  main.pipe(
    Effect.catchCause((cause) =>
      Effect.andThen(
        Effect.logError("A worker thread could not start", cause),
        Effect.sync(() => process.exit(1)),
      ),
    ),
  ),
)
