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
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { Periodic, Settings, Shutdown, Verk, Worker } from "@verk/core"
import { RedisStore } from "@verk/redis"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import { Argument, Command, Flag } from "effect/cli"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as AdminLimits from "../AdminLimits.ts"
import * as NodeProcess from "../NodeProcess.ts"
import * as Tracing from "../Tracing.ts"
import { Descriptions } from "./commands.ts"
import {
  HealthPortUnavailable,
  InvalidLayerExport,
  LayerFailed,
  ModuleNotFound,
  ModuleThrew,
  NoWorkersExported,
} from "./errors.ts"
import { allowedHostsFlag, hostFlag, portFlag, startWeb } from "./web.ts"

/** What `verk run` takes from a module. */
export interface Loaded {
  readonly workers: ReadonlyArray<Worker.AnyWorker<unknown>>
  /** The module's layer (its `Verk.module`'s, or its `layer` export): the services its workers use. */
  readonly layer: Layer.Layer<unknown, unknown, never> | undefined
  /** The module's periodic entries (its `Verk.module`'s, or its `periodic` export): none when it has none. */
  readonly periodic: ReadonlyArray<Periodic.Entry>
  /** The module's limits per queue: its `Verk.module`'s only (see core's Limits.ts); none otherwise. */
  readonly queueLimits: Verk.Module["queueLimits"]
}

/** `verk run <module>`: the module's `periodic` export is not an array of `Periodic.make` entries. */
export class InvalidPeriodicExport extends Data.TaggedError("InvalidPeriodicExport")<{
  readonly module: string
  readonly found: string
}> {
  override get message() {
    return `${this.module} exports \`periodic\` as ${this.found}: it must be an array of entries made by Periodic.make`
  }
}

const describeValue = (value: unknown): string =>
  value === null
    ? "null"
    : Array.isArray(value)
      ? "an array"
      : /^[aeiou]/.test(typeof value)
        ? `an ${typeof value}`
        : `a ${typeof value}`

/**
 * `verk run <module>`: a TypeScript module on a Node that does not run TypeScript. Node's own error
 * (`Unknown file extension ".ts"`) blames the module; the version of Node is what is wrong.
 */
export class TypeScriptNeedsNewerNode extends Data.TaggedError("TypeScriptNeedsNewerNode")<{
  readonly module: string
  readonly nodeVersion: string
  readonly error: unknown
}> {
  override get message() {
    const reason = this.error instanceof Error ? ` (${this.error.message})` : ""
    return `cannot load ${this.module}: Node ${this.nodeVersion} does not run TypeScript${reason}; running .ts directly needs Node ≥ 22.18 (type stripping), or build the module to .js and run that`
  }
}

/**
 * Why importing a module failed: a `.ts` (`.mts`, `.cts`) file Node does not know how to load
 * (ERR_UNKNOWN_FILE_EXTENSION, Node before 22.18) is the Node version's fault, anything else the module's.
 */
export const loadFailure = (
  module: string,
  resolved: string,
  error: unknown,
  nodeVersion: string = process.version,
): TypeScriptNeedsNewerNode | ModuleThrew => {
  const code = typeof error === "object" && error !== null ? (error as { readonly code?: unknown }).code : undefined
  const message = error instanceof Error ? error.message : ""
  return code === "ERR_UNKNOWN_FILE_EXTENSION" && /"\.[cm]?ts"/.test(message)
    ? new TypeScriptNeedsNewerNode({ module, nodeVersion, error })
    : new ModuleThrew({ module, resolved, error })
}

/** Imports `module` (a path, relative to the working directory) and takes its workers and layer. */
export const load = Effect.fn("cli.load")(function* (module: string) {
  const resolved = resolve(module)
  if (!existsSync(resolved)) return yield* new ModuleNotFound({ module, resolved })
  const exported = yield* Effect.tryPromise({
    try: () => import(pathToFileURL(resolved).href) as Promise<Record<string, unknown>>,
    catch: (error) => loadFailure(module, resolved, error),
  })

  // A `Verk.module` default export says it all: its workers, its layer; the other exports are not looked at.
  const typed = Verk.isModule(exported.default) ? exported.default : undefined
  const workers = new Set<Worker.AnyWorker<unknown>>()
  const fromDefault = Array.isArray(exported.default) ? exported.default : [exported.default]
  const candidates: ReadonlyArray<unknown> = typed?.workers ?? [...fromDefault, ...Object.values(exported)]
  for (const value of candidates) {
    if (Worker.isWorker(value)) workers.add(value)
  }
  if (workers.size === 0) return yield* new NoWorkersExported({ module, exportNames: Object.keys(exported) })

  const layer: unknown = typed === undefined ? exported.layer : typed.layer
  if (layer !== undefined && !Layer.isLayer(layer)) {
    return yield* new InvalidLayerExport({ module, found: describeValue(layer) })
  }
  const periodic: unknown = typed === undefined ? (exported.periodic ?? []) : typed.periodic
  if (!Array.isArray(periodic) || !periodic.every(Periodic.isEntry)) {
    const found = Array.isArray(periodic) ? "an array holding something else" : describeValue(periodic)
    return yield* new InvalidPeriodicExport({ module, found })
  }
  const queueLimits = typed?.queueLimits ?? {}
  return { workers: [...workers], layer: layer as Loaded["layer"], periodic, queueLimits } satisfies Loaded
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
    // The workers' services are only known at run time: their types are erased here on purpose.
    const runtime = Verk.layer({
      workers: workers as ReadonlyArray<Worker.AnyWorker<Worker.JobServices>>,
      periodic,
      queueLimits,
      ...environment.settings,
    }).pipe(Layer.provideMerge(Shutdown.layer)) // a second Ctrl-C stops at once (NodeProcess.serveWith)
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
