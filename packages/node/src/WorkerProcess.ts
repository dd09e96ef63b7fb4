/**
 * A worker process: the runtime on Redis with settings from the environment (REDIS_URL,
 * VERK_QUEUES, ...), running until SIGTERM or SIGINT, then shutting down gracefully (running jobs
 * get `shutdownTimeout`, the rest go back to their queues) and exiting 0.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Verk, type Worker } from "@verk/core"
import { RedisStore } from "@verk/redis"
import { Cause, Effect, Exit, Layer, Runtime } from "effect"

/** The runtime for `workers` on the Redis of the environment, until the scope closes. */
export const layer = <const Workers extends ReadonlyArray<Worker.AnyWorker<unknown>>>(workers: Workers) =>
  Verk.layerFromEnv({ workers }).pipe(Layer.provideMerge(RedisStore.layerFromEnv))

/** A signal ends the process normally: a graceful shutdown is a success, so exit 0. */
export const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

/** Runs a worker process for `workers` (which need no services beyond the job's own). */
export const run = (workers: ReadonlyArray<Worker.AnyWorker<Worker.JobServices>>): void =>
  Effect.gen(function* () {
    const verk = yield* Verk.Verk
    yield* Effect.logInfo(`worker process ready: node ${verk.nodeId}, pid ${process.pid}`)
    return yield* Effect.never
  }).pipe(Effect.provide(layer(workers)), (main) => NodeRuntime.runMain(main, { teardown }))
