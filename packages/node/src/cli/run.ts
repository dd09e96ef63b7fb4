/**
 * `verk run <module>`: a worker process for the workers that module exports, with the services
 * they need from the module's `layer` export.
 *
 * A default export made by `Verk.module({ workers, layer, periodic })` gives the workers, the layer
 * and the periodic entries, and the module's other exports are not looked at; its type makes a service the layer does not provide
 * a compile error. Otherwise the workers are the module's values made by `Worker.make`
 * (`Worker.isWorker`): the default export (a worker or an array of workers) and every named export
 * that is a worker, the layer is the export named `layer`, if any, and the periodic entries (see
 * core's Periodic.ts) the export named `periodic`, if any. The layer, a `Layer`, is built
 * first and gives the workers its services; it lives as long as the process, so its finalizers run at
 * shutdown, after the last job has finished.
 *
 * Without `Verk.module`, a service that a worker uses and the layer does not provide cannot be seen
 * before a job runs (here a worker's services are only a type): such a job fails, naming the missing
 * service, and is retried as any failed job.
 *
 * With `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are exported over OTLP (Tracing.ts) from the
 * module's import to the last job's, and flushed once the runtime has shut down.
 */
import { availableParallelism } from "node:os"
import { resolve } from "node:path"
import { Settings, Shutdown, Verk, type Worker } from "@verk/core"
import { RedisStore } from "@verk/redis"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import { Argument, Command, Flag } from "effect/cli"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as AdminLimits from "../AdminLimits.ts"
import * as NodeProcess from "../NodeProcess.ts"
import * as Tracing from "../Tracing.ts"
import { Descriptions } from "./commands.ts"
import { HealthPortUnavailable, LayerFailed } from "./errors.ts"
import { load } from "./load.ts"
import { allowedHostsFlag, hostFlag, portFlag, startWeb } from "./web.ts"

/** The module loader (load.ts), here too for those who import it from the command. */
export {
  InvalidPeriodicExport,
  type Loaded,
  load,
  loadFailure,
  TypeScriptNeedsNewerNode,
} from "./load.ts"

/**
 * The thread pool (Threads.ts) of a module with a threaded worker (`thread: true`), of
 * `VERK_THREADS` threads (the machine's available parallelism when unset); none otherwise, and
 * Threads.ts is then not even loaded.
 */
const threadPool = Effect.fnUntraced(function* (module: string, workers: ReadonlyArray<Worker.AnyWorker<unknown>>) {
  const threaded = workers.filter((worker) => worker.thread === true)
  if (threaded.length === 0) return Layer.empty
  const size = Option.getOrUndefined(yield* Config.option(Config.Int("VERK_THREADS")))
  const Threads = yield* Effect.promise(() => import("../Threads.ts"))
  const count = size === undefined ? `${availableParallelism()}` : `${Math.max(1, size)}`
  yield* Effect.logInfo(`running ${threaded.map((worker) => worker.name).join(", ")} in ${count} worker threads`)
  return Threads.layer({ module: resolve(module), size })
})

/** The command's scope, with spans exported over OTLP when the environment asks (Tracing.ts). */
const scopedAndTraced = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.scoped, Effect.provide(Tracing.layerConfig))

/** `verk run <module>`: a worker process for the module's workers (see the module comment). */
export const run = Command.make(
  "run",
  {
    module: Argument.String("module").pipe(Argument.withDescription("a module exporting workers (and a layer)")),
    healthPort: Flag.Int("health-port").pipe(
      Flag.withDescription("serve GET /healthz on this port: 200 while healthy, 503 when not (VERK_HEALTH_PORT)"),
      Flag.withFallbackConfig(Config.Int("VERK_HEALTH_PORT")),
      Flag.optional,
    ),
    healthHost: Flag.String("health-host").pipe(
      Flag.withDescription("the address /healthz listens on (VERK_HEALTH_HOST)"),
      Flag.withFallbackConfig(Config.String("VERK_HEALTH_HOST")),
      Flag.withDefault("127.0.0.1"),
    ),
    loopBlockedLimit: Flag.String("loop-blocked-limit").pipe(
      Flag.withDescription(
        "with --health-port: /healthz answers 503, and the block is logged, once the event loop is blocked this long, such as 10s (VERK_LOOP_BLOCKED_LIMIT; default: 3 heartbeat intervals)",
      ),
      Flag.withSchema(Settings.IntervalFromString),
      Flag.withFallbackConfig(Config.schema(Settings.IntervalFromString, "VERK_LOOP_BLOCKED_LIMIT")),
      Flag.optional,
    ),
    webPort: portFlag("web-port", "VERK_WEB_PORT").pipe(
      Flag.withDescription("serve Verk Web, the dashboard, on this port beside the worker (VERK_WEB_PORT)"),
      Flag.optional,
    ),
    webHost: hostFlag("web-host", "VERK_WEB_HOST"),
    webAllowedHosts: allowedHostsFlag("web-allowed-hosts"),
  },
  Effect.fn(function* ({ module, healthPort, healthHost, loopBlockedLimit, webPort, webHost, webAllowedHosts }) {
    const { workers, layer, periodic, queueLimits } = yield* load(module)
    // Settings and Redis are checked before the module's services open; they close in reverse:
    // the runtime first (running jobs finish or go back to their queues), then the module's services.
    const environment = yield* NodeProcess.config
    const store = yield* Layer.build(RedisStore.layer(environment.store))
    yield* Effect.logInfo(`running ${workers.map((worker) => worker.name).join(", ")} from ${module}`)
    if (periodic.length > 0) {
      yield* Effect.logInfo(
        `periodic entries ${periodic.map((entry) => `${entry.name} (${entry.expression})`).join(", ")}`,
      )
    }
    const services = yield* Layer.build(layer ?? Layer.empty).pipe(
      Effect.mapError((error) => new LayerFailed({ module, error })),
    )
    const threads = yield* threadPool(module, workers)
    // The workers' services are only known at run time: their types are erased here on purpose.
    const runtime = Verk.layer({
      workers: workers as ReadonlyArray<Worker.AnyWorker<Worker.JobServices>>,
      periodic,
      queueLimits,
      ...environment.settings,
    }).pipe(Layer.provideMerge(Shutdown.layer), Layer.provide(threads)) // a second Ctrl-C stops at once (NodeProcess.serveWith)
    // Three heartbeats unless told: a loop blocked that long has missed its heartbeat too.
    const blockedLimit = Option.getOrElse(loopBlockedLimit, () =>
      Duration.times(environment.settings.heartbeatInterval, 3),
    )
    const health = Option.match(healthPort, {
      onNone: () => Effect.void,
      onSome: (port) =>
        // Loaded only when asked for: an HTTP server a worker without `--health-port` does not hold.
        Effect.promise(() => import("../HealthServer.ts")).pipe(
          Effect.flatMap((HealthServer) =>
            Layer.build(
              HealthServer.layer({
                port,
                host: healthHost,
                loopBlockedLimit: blockedLimit,
              }),
            ),
          ),
          Effect.mapError((error) => new HealthPortUnavailable({ host: healthHost, port, error })),
          Effect.andThen(
            Effect.logInfo(
              `serving /healthz on http://${healthHost}:${port} (503 once the event loop is blocked for ${Duration.format(blockedLimit)})`,
            ),
          ),
        ),
    })
    const web = Option.match(webPort, {
      onNone: () => Effect.void,
      onSome: (port) => startWeb(port, webHost, webAllowedHosts, AdminLimits.limitsOf(workers, queueLimits)),
    })
    return yield* Effect.andThen(Effect.andThen(health, web), NodeProcess.serveWith(environment.settings)).pipe(
      Effect.provide(runtime),
      Effect.provideContext(Context.merge(store, services)),
    )
  }, scopedAndTraced),
).pipe(Command.withDescription(Descriptions.run))
