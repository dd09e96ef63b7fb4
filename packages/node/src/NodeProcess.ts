/**
 * The process of one Verk node (what `verk run` starts, and what a program of its own can be
 * with `run`): the runtime on Redis with settings from the environment (REDIS_URL,
 * VERK_QUEUES, ...), running until SIGTERM or SIGINT, then shutting down gracefully (running jobs
 * get `shutdownTimeout`, the rest go back to their queues) and exiting 0.
 *
 * Everything is checked before the process starts working: a bad setting or a Redis that cannot be
 * reached fails at once (exit 1), for a process supervisor to report and restart.
 */
// The module alone: the package's index loads its HTTP server and clients too (~35 MiB of RSS).
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Settings, type Store, Verk, type Worker } from "@verk/core"
import { RedisStore } from "@verk/redis"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import { releaseWhenIdle } from "./StartupMemory.ts"

/** What a node's process reads from the environment: the runtime's settings and the store's. */
export interface Environment {
  readonly settings: Settings.Resolved
  readonly store: RedisStore.EnvSettings
}

/** `Environment` from the environment: `Settings.config` and `RedisStore.config`. */
export const config: Config.Config<Environment> = Config.all({
  settings: Settings.config,
  store: RedisStore.config,
})

/** The runtime for `workers` on settings already read, until the scope closes. */
export const layerWith = <const Workers extends ReadonlyArray<Worker.AnyWorker<unknown>>>(
  workers: Workers,
  environment: Environment,
): Layer.Layer<Verk.Services | Store.Store, Store.StoreError, Worker.ServicesOf<Workers>> =>
  Verk.layer({ workers, ...environment.settings }).pipe(Layer.provideMerge(RedisStore.layer(environment.store)))

/** The runtime for `workers` on the Redis of the environment, until the scope closes. */
export const layer = <const Workers extends ReadonlyArray<Worker.AnyWorker<unknown>>>(
  workers: Workers,
): Layer.Layer<Verk.Services | Store.Store, Store.StoreError | Config.ConfigError, Worker.ServicesOf<Workers>> =>
  Layer.unwrap(
    Effect.gen(function* () {
      return layerWith(workers, yield* config)
    }),
  )

/** A signal ends the process normally: a graceful shutdown is a success, so exit 0. */
export const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

/**
 * npm (`npm run`, `npx`, `npm exec`) runs a command through `sh -c`, and passes SIGTERM to that
 * shell only, which exits without passing it on: the worker would run on, orphaned. So a worker
 * process started by npm (which sets `npm_command`) takes the loss of its parent as a SIGTERM, and
 * shuts down gracefully within a second. (`exec` in the script, or running the bin without npm,
 * lets the signal reach the worker at once.)
 */
const followParent: Effect.Effect<void> = Effect.gen(function* () {
  if (process.env.npm_command === undefined) return
  const parent = process.ppid
  while (process.ppid === parent) yield* Effect.sleep(Duration.seconds(1))
  yield* Effect.logWarning(`the parent process (pid ${parent}, npm ${process.env.npm_command}) exited: shutting down`)
  process.kill(process.pid, "SIGTERM")
})

/**
 * Says the process is ready, then runs until interrupted (by a signal, through `runMain`); gives
 * back the memory starting took once it idles (StartupMemory.ts).
 */
export const serve: Effect.Effect<never, never, Verk.Verk> = Effect.gen(function* () {
  const verk = yield* Verk.Verk
  yield* Effect.logInfo(`worker process ready: node ${verk.nodeId}, pid ${process.pid}`)
  yield* Effect.forkChild(followParent)
  yield* Effect.forkChild(releaseWhenIdle)
  return yield* Effect.never
})

/**
 * Runs a worker process for `workers` (which need no services beyond the job's own). Start the
 * process with `NodeFlags` (NodeFlags.ts; `verk run` restarts itself with them): this does not
 * restart it, as whatever ran before this call would run twice.
 */
export const run = (workers: ReadonlyArray<Worker.AnyWorker<Worker.JobServices>>): void =>
  serve.pipe(Effect.provide(layer(workers)), (main) => NodeRuntime.runMain(main, { teardown }))
