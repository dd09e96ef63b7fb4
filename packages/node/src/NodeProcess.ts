/**
 * The process of one Verk node (what `verk run` starts, and what a program of its own can be
 * with `run`): the runtime on Redis with settings from the environment (REDIS_URL,
 * VERK_QUEUES, ...), running until SIGTERM or SIGINT, then shutting down gracefully (running jobs
 * get `shutdownTimeout`, the rest go back to their queues) and exiting 0. The first signal prints
 * what the shutdown waits for; a second one stops at once (running jobs are interrupted and go
 * back to their queues, Shutdown.ts), a third exits without cleaning up.
 *
 * Everything is checked before the process starts working: a bad setting or a Redis that cannot be
 * reached fails at once (exit 1), for a process supervisor to report and restart.
 */
// The module alone: the package's index loads its HTTP server and clients too (~35 MiB of RSS).
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Settings, Shutdown, type Store, Verk, type Worker } from "@verk/core"
import { RedisStore } from "@verk/redis"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { teardown } from "./ProcessExit.ts"
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
  Verk.layer({ workers, ...environment.settings }).pipe(
    Layer.provideMerge(RedisStore.layer(environment.store)),
    // The control a second signal cuts the shutdown short with (`serve`).
    Layer.provideMerge(Shutdown.layer),
  )

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
export { teardown } from "./ProcessExit.ts"

/**
 * npm (`npm run`, `npx`, `npm exec`) runs a command through `sh -c`, and passes SIGTERM to that
 * shell only, which exits without passing it on: the worker would run on, orphaned. So a worker
 * process started by npm (which sets `npm_command`) takes the loss of its parent as a SIGTERM, and
 * shuts down gracefully within a second. (`exec` in the script, or running the bin without npm,
 * lets the signal reach the worker at once.)
 */
const followParent = Effect.fnUntraced(function* (parent: number) {
  if (process.env.npm_command === undefined) return
  while (process.ppid === parent) yield* Effect.sleep(Duration.seconds(1))
  yield* Effect.logWarning(`the parent process (pid ${parent}, npm ${process.env.npm_command}) exited: shutting down`)
  process.kill(process.pid, "SIGTERM")
})

/** The line of the first signal: what the shutdown waits for, and how to stop at once. */
const waitingLine = (signal: string, running: number, shutdownTimeout: Duration.Duration | undefined): string => {
  if (running === 0) return `${signal}: shutting down (no job running)`
  const jobs = running === 1 ? "1 running job" : `${running} running jobs`
  const upTo = shutdownTimeout === undefined ? "" : ` up to ${Duration.format(shutdownTimeout)}`
  return (
    `${signal}: shutting down, waiting${upTo} for ${jobs} to finish (then they go back to their queues);` +
    ` press Ctrl-C (or send ${signal}) again to stop now`
  )
}

/**
 * What SIGINT and SIGTERM do besides interrupting the main fiber (which `runMain` does on the
 * first): the first prints what the shutdown waits for; the second cuts it short (the running jobs
 * are interrupted and put back in their queues, Shutdown.ts), so the process still exits as after
 * any signal; a third exits at once, without cleaning up (jobs left in progress are recovered by a
 * live node once the heartbeat expires). The handlers run before `runMain`'s, so the count is
 * taken before the shutdown starts; they stay for the process's last moments once a signal came.
 */
const handleSignals = (shutdownTimeout: Duration.Duration | undefined) =>
  Effect.gen(function* () {
    const verk = yield* Verk.Verk
    const shutdown = yield* Shutdown.Shutdown
    const context = yield* Effect.context<never>()
    const runFork = Effect.runForkWith(context)
    const running = Effect.map(verk.queueStats, (queues) => queues.reduce((sum, queue) => sum + queue.running, 0))
    let received = 0
    const onSignal = (signal: NodeJS.Signals) => {
      received++
      if (received === 1) {
        const count = Effect.runSyncExitWith(context)(running)
        runFork(Effect.logInfo(waitingLine(signal, Exit.isSuccess(count) ? count.value : 0, shutdownTimeout)))
      } else if (received === 2) {
        runFork(
          Effect.logWarning(
            `${signal} again: stopping now; running jobs are interrupted and put back in their queues`,
          ).pipe(Effect.andThen(shutdown.stopNow)),
        )
      } else {
        process.stderr.write(`${signal} a third time: exiting without cleaning up\n`)
        process.exit(130)
      }
    }
    const remove = () => {
      process.removeListener("SIGINT", onSignal)
      process.removeListener("SIGTERM", onSignal)
    }
    process.prependListener("SIGINT", onSignal)
    process.prependListener("SIGTERM", onSignal)
    // Ended by the program rather than a signal: nothing to wait for, let go of the process.
    return Effect.sync(() => {
      if (received === 0) remove()
    })
  })

/**
 * Says the process is ready, then runs until interrupted (by a signal, through `runMain`); gives
 * back the memory starting took once it idles (StartupMemory.ts). `shutdownTimeout` is for the
 * line printed on the first signal (see `handleSignals`): give the node's own.
 */
export const serveWith = (options: {
  readonly shutdownTimeout?: Duration.Input | undefined
}): Effect.Effect<never, never, Verk.Verk> =>
  Effect.gen(function* () {
    const verk = yield* Verk.Verk
    const release = yield* handleSignals(
      options.shutdownTimeout === undefined ? undefined : Duration.fromInputUnsafe(options.shutdownTimeout),
    )
    // The parent is read before "ready" is said: a parent that exits right after (as soon as it
    // reads that line) would otherwise be missed, the fiber reading the new parent's pid.
    const parent = process.ppid
    yield* Effect.logInfo(`worker process ready: node ${verk.nodeId}, pid ${process.pid}`)
    yield* Effect.forkChild(followParent(parent))
    yield* Effect.forkChild(releaseWhenIdle)
    return yield* Effect.ensuring(Effect.never, release)
  })

/** `serveWith` without a shutdown timeout to tell on the first signal. */
export const serve: Effect.Effect<never, never, Verk.Verk> = serveWith({})

/**
 * Runs a worker process for `workers` (which need no services beyond the job's own). Start the
 * process with `NodeFlags` (NodeFlags.ts; `verk run` restarts itself with them): this does not
 * restart it, as whatever ran before this call would run twice.
 */
export const run = (workers: ReadonlyArray<Worker.AnyWorker<Worker.JobServices>>): void =>
  Effect.flatMap(config, (environment) =>
    serveWith(environment.settings).pipe(Effect.provide(layerWith(workers, environment))),
  ).pipe((main) => NodeRuntime.runMain(main, { teardown }))
