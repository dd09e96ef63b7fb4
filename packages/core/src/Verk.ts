/**
 * The top layer: starts the configured queues, the scheduler and the stats flusher on a store,
 * and offers run-time control (add, remove, pause, resume) and a live view of the queues.
 *
 *   Verk.layer({ workers: [SendEmail], queues: { default: 25 } })  // needs a store and the workers' services
 *
 * Each queue is a scoped fiber in a FiberMap; closing the layer's scope shuts every queue down
 * gracefully (see QueueSupervisor).
 */
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as Client from "./Client.ts"
import * as Events from "./Events.ts"
import { Cancels } from "./internal/Cancel.ts"
import { DeadLetter } from "./internal/DeadLetter.ts"
import * as Heartbeat from "./internal/Heartbeat.ts"
import { Isolation } from "./internal/Isolation.ts"
import * as Loop from "./internal/Loop.ts"
import { Node } from "./internal/Node.ts"
import * as PeriodicLoop from "./internal/PeriodicLoop.ts"
import * as Processor from "./internal/Processor.ts"
import * as ProgressBoard from "./internal/ProgressBoard.ts"
import * as QueueSupervisor from "./internal/QueueSupervisor.ts"
import * as Recovery from "./internal/Recovery.ts"
import * as Scheduler from "./internal/Scheduler.ts"
import { WakeUp } from "./internal/WakeUp.ts"
import * as Job from "./Job.ts"
import * as Limits from "./Limits.ts"
import * as Periodic from "./Periodic.ts"
import * as Settings from "./Settings.ts"
import * as Stats from "./Stats.ts"
import { LimitStore, NodeStore, NotificationStore, type StoreError, type Roles as StoreRoles } from "./Store.ts"
import { type AnyWorker, layerRegistry, type ServicesOf, WorkerRegistry } from "./Worker.ts"

/** A node's health, as `Verk.health` reports it (and `verk run --health-port` serves it). */
export interface Health {
  readonly nodeId: string
  /** Heartbeat fresh, store answering, and every loop alive. */
  readonly healthy: boolean
  /** Milliseconds since the last heartbeat that reached the store; undefined if none yet. */
  readonly sinceHeartbeatMillis: number | undefined
  readonly lastError: string | undefined
  readonly loops: {
    readonly heartbeat: boolean
    readonly recovery: boolean
    readonly scheduler: boolean
    readonly queues: Readonly<Record<string, boolean>>
  }
}

/** A job running on this node, as `Verk.running` lists it. */
export interface RunningJob {
  readonly queue: string
  /** Absent for a payload that is no job (it is on its way to the dead set). */
  readonly jid: string | undefined
  readonly className: string | undefined
  /** When this node started it (epoch milliseconds, by the node's Clock). */
  readonly startedMillis: number
}

/** What a running node offers: its queues, their stats, its health and its events. */
export interface VerkShape {
  readonly nodeId: string
  /** Starts a queue on this node; a queue already running keeps its pool. */
  readonly addQueue: (queue: string, concurrency: number) => Effect.Effect<void>
  /** Stops a queue on this node, gracefully; its unfinished jobs go back to the queue. */
  readonly removeQueue: (queue: string) => Effect.Effect<void>
  /** Pauses a queue on every node sharing the store. */
  readonly pause: (queue: string) => Effect.Effect<void, StoreError>
  readonly resume: (queue: string) => Effect.Effect<void, StoreError>
  /** Verk's `QueueStats.all`: every queue running on this node. */
  readonly queueStats: Effect.Effect<ReadonlyArray<QueueSupervisor.QueueStats>>
  /** Whether this node is connected, heartbeating and running its loops. */
  readonly health: Effect.Effect<Health>
  /** The jobs running on this node now, oldest first (the event-loop watchdog names them). */
  readonly running: Effect.Effect<ReadonlyArray<RunningJob>>
  /** Events from now on; `subscribe` first when nothing may be missed. Each stream is one reader. */
  readonly events: Stream.Stream<Events.VerkEvent>
  readonly subscribe: Effect.Effect<Stream.Stream<Events.VerkEvent>, never, Scope.Scope>
}

/** The running node, as a service (`yield* Verk.Verk`). */
export class Verk extends Context.Service<Verk, VerkShape>()("@verk/core/Verk") {}

/**
 * What `layer` takes: the workers this node runs, its periodic entries (see Periodic.ts), and any
 * settings (the rest keep their defaults).
 */
export type Options<Workers extends ReadonlyArray<AnyWorker<unknown>>> = Settings.Input & {
  readonly workers: Workers
  readonly periodic?: ReadonlyArray<Periodic.Entry> | undefined
  /**
   * Limits per queue (see Limits.ts), for every job of the queue whatever its worker, each key
   * computed from the job's wire args: `{ mail: [Limits.rate({ name: "smtp", limit: 10, per: "1 second" })] }`.
   */
  readonly queueLimits?: Limits.QueueLimitsShape | undefined
}

/** What the runtime gives: itself, its events, and a client to enqueue jobs. */
export type Services = Verk | Events.Events | Client.Client

/**
 * A node running `workers` on the queues of the settings. It needs a store and the services the
 * workers use; settings given in code are checked, and a bad one is a defect naming it, as are two
 * different workers with one name (`Worker.DuplicateWorkerName`; the same worker twice counts once).
 * A worker whose queue the settings leave out is logged at start, one warning each (see `warnUnserved`).
 */
export const layer = <const Workers extends ReadonlyArray<AnyWorker<unknown>>>(
  options: Options<Workers>,
): Layer.Layer<Services, never, StoreRoles | ServicesOf<Workers>> => {
  const { workers, periodic, queueLimits, ...settings } = options
  return layerWithRegistry.pipe(
    Layer.provide(
      Layer.mergeAll(
        Settings.layer(settings),
        layerRegistry(workers),
        layerPeriodic(periodic ?? []),
        Layer.succeed(Limits.QueueLimits, queueLimits ?? {}),
      ),
    ),
  )
}

/**
 * The periodic entries a node runs (`Periodic.Entries`). Two different entries with one name are
 * a defect (`Periodic.DuplicatePeriodicName`); the same entry twice counts once.
 */
export const layerPeriodic = (entries: ReadonlyArray<Periodic.Entry>): Layer.Layer<never> => {
  const unique = [...new Set(entries)]
  const names = new Set<string>()
  for (const entry of unique) {
    if (names.has(entry.name)) return Layer.effectDiscard(Effect.die(new Periodic.DuplicatePeriodicName(entry)))
    names.add(entry.name)
  }
  return Layer.succeed(Periodic.Entries, unique) as Layer.Layer<never>
}

/** As `layer`, with the settings read from the environment (see `Settings.config`). */
export const layerConfig = <const Workers extends ReadonlyArray<AnyWorker<unknown>>>(options: {
  readonly workers: Workers
}): Layer.Layer<Services, Config.ConfigError, StoreRoles | ServicesOf<Workers>> =>
  layerWithRegistry.pipe(Layer.provide(Layer.merge(Settings.layerConfig, layerRegistry(options.workers))))

/**
 * One warning per worker whose queue this node does not serve. Warned, not served: which queues a
 * node serves is a deployment choice (`queues`, `VERK_QUEUES`), while the workers are code that
 * every node shares (`verk run` loads every worker its module exports). A node that deliberately
 * serves a subset (mail nodes, CPU-heavy nodes, a small node that must not take the big jobs) would
 * take every queue if workers' queues were served by default, and no concurrency would be right for
 * them all. So the node serves what it is told, and says which workers it leaves to other nodes.
 */
const warnUnserved = Effect.fnUntraced(function* (
  registry: WorkerRegistry["Service"],
  queues: Readonly<Record<string, number>>,
) {
  const served = Object.keys(queues)
  const servedText = served.length === 0 ? "no queue" : served.join(", ")
  for (const name of registry.names) {
    const worker = registry.lookup(name)
    if (worker === undefined || Object.hasOwn(queues, worker.queue)) continue
    const example = [...served.map((queue) => `${queue}:${queues[queue]}`), `${worker.queue}:25`].join(",")
    yield* Effect.logWarning(
      `Worker ${name} uses queue "${worker.queue}", which this node does not serve (it serves ${servedText}): ` +
        `its jobs wait until a node serves "${worker.queue}". To serve it here, add it to VERK_QUEUES ` +
        `(VERK_QUEUES=${example}) or to the \`queues\` setting; if other nodes serve it, this warning is expected.`,
    ).pipe(Effect.annotateLogs({ worker: name, queue: worker.queue }))
  }
})

const make = Effect.gen(function* () {
  const nodes = yield* NodeStore
  const limitStore = yield* LimitStore
  const notifications = yield* NotificationStore
  const events = yield* Events.Events
  const settings = yield* Settings.Settings
  const node = yield* Node
  const context = yield* Effect.context<
    StoreRoles | Events.Events | Processor.Processor | Node | Settings.Settings | WakeUp | Isolation | DeadLetter
  >()
  const handles = new Map<string, QueueSupervisor.QueueHandle>()

  // Finalizers run in reverse: recovery and scheduler stop, queues drain and requeue while the
  // heartbeat still runs (so nobody recovers jobs that are finishing), then the node leaves.
  // Deregistering keeps the node registered if it still holds in-progress jobs (a requeue failed):
  // then a live node recovers them once the heartbeat expires.
  // Its slots of concurrency limits first: any its runs could not give back (the store was away).
  const leave = limitStore.releaseNodeHolds(node.id).pipe(
    Effect.catch((error) => Effect.logWarning(`Could not free the limit slots of ${node.id}: ${error.message}`)),
    Effect.andThen(nodes.deregister(node.id)),
    Effect.flatMap((forgotten) =>
      forgotten
        ? Effect.void
        : Effect.logWarning(`Jobs stay in progress for ${node.id}; a live node will recover them`),
    ),
    Effect.catch((error) => Effect.logWarning(`Could not deregister ${node.id}: ${error.message}`)),
  )
  yield* Effect.addFinalizer(() => leave)

  // Suspended: `handles` changes as queues come and go.
  const leases = Effect.suspend(() =>
    Effect.map(
      Effect.forEach([...handles.values()], (handle) => handle.running),
      (all) => all.flat(),
    ),
  )
  const liveness = yield* Heartbeat.run(leases)

  const queues = yield* FiberMap.make<string, never>()

  const addQueue = Effect.fn("Verk.addQueue")(function* (queue: string, concurrency: number) {
    if (yield* FiberMap.has(queues, queue)) return
    const supervisor = Effect.gen(function* () {
      handles.set(queue, yield* QueueSupervisor.supervise(queue, concurrency))
      yield* Effect.addFinalizer(() => Effect.sync(() => handles.delete(queue)))
      return yield* Effect.never
    }).pipe(Effect.scoped, Effect.provideContext(context))
    yield* FiberMap.run(queues, queue, supervisor, { onlyIfMissing: true })
  })

  const removeQueue = Effect.fn("Verk.removeQueue")(function* (queue: string) {
    yield* FiberMap.remove(queues, queue)
  })

  const sweep = Recovery.sweep(liveness.trusted)
  const recovery = yield* Loop.forkScoped(
    "recovery",
    sweep.pipe(
      Effect.catch((error) => Effect.logWarning(`Recovery sweep failed: ${error.message}`)),
      Effect.repeat(Schedule.spaced(settings.heartbeatInterval)),
      Effect.provideContext(context),
    ),
  )
  const scheduler = yield* Loop.forkScoped("scheduler", Scheduler.run())
  const periodic = yield* Periodic.Entries
  if (periodic.length > 0) yield* Loop.forkScoped("periodic", PeriodicLoop.run(periodic))
  for (const [queue, concurrency] of Object.entries(settings.queues)) yield* addQueue(queue, concurrency)
  yield* Effect.logInfo(`Verk node ${node.id} running queues ${Object.keys(settings.queues).join(", ")}`)
  yield* warnUnserved(yield* WorkerRegistry, settings.queues)

  const health = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const beatAt = yield* liveness.lastBeat
    const sinceHeartbeatMillis = beatAt === undefined ? undefined : now - beatAt
    const queueLoops: Record<string, boolean> = {}
    for (const [queue, handle] of handles) queueLoops[queue] = yield* handle.fetching
    const loops = {
      heartbeat: yield* liveness.alive,
      recovery: yield* recovery.alive,
      scheduler: yield* scheduler.alive,
      queues: queueLoops,
    }
    const fresh =
      sinceHeartbeatMillis !== undefined &&
      sinceHeartbeatMillis < Duration.toMillis(Duration.times(settings.heartbeatInterval, 2))
    return {
      nodeId: node.id,
      healthy:
        fresh && loops.heartbeat && loops.recovery && loops.scheduler && Object.values(queueLoops).every(Boolean),
      sinceHeartbeatMillis,
      lastError: yield* liveness.lastError,
      loops,
    } satisfies Health
  })

  return {
    nodeId: node.id,
    addQueue,
    removeQueue,
    pause: (queue: string) => notifications.setPaused(queue, true),
    resume: (queue: string) => notifications.setPaused(queue, false),
    queueStats: Effect.suspend(() => Effect.forEach([...handles.values()], (handle) => handle.stats)).pipe(
      Effect.map((stats) => [...stats].sort((a, b) => a.queue.localeCompare(b.queue))),
    ),
    health,
    running: Effect.map(leases, (jobs) =>
      jobs
        .map(({ queue, raw, startedMillis }): RunningJob => {
          const job = Job.decodeCommon(raw) ?? Result.getOrUndefined(Job.decodeResult(raw))
          return { queue, jid: job?.jid, className: job?.class, startedMillis }
        })
        .sort((a, b) => a.startedMillis - b.startedMillis),
    ),
    events: events.stream,
    subscribe: events.subscribe,
  } satisfies VerkShape
})

/** The runtime on settings and a registry given as services (the testing kit builds its own). */
export const layerWithRegistry: Layer.Layer<Services, never, StoreRoles | WorkerRegistry | Settings.Settings> =
  Layer.effect(Verk, make).pipe(
    Layer.provide(Processor.layer),
    Layer.provideMerge(DeadLetter.layer),
    Layer.provide(Layer.mergeAll(WakeUp.layer, Stats.layer, Isolation.layer, ProgressBoard.layer)),
    Layer.provide(Cancels.layer),
    Layer.provideMerge(Layer.mergeAll(Node.layer, Events.layer, Client.layer)),
  )

/** Marks a value made by `module` (by any copy of this library). */
export const ModuleTypeId: unique symbol = Symbol.for("@verk/core/Verk/Module") as never
/** The type of `ModuleTypeId`. */
export type ModuleTypeId = typeof ModuleTypeId

/**
 * A worker module, as `module` makes it: the workers `verk run` runs and the layer giving the
 * services they use. A plain value: export it as the module's default export.
 */
export interface Module<Workers extends ReadonlyArray<AnyWorker<unknown>> = ReadonlyArray<AnyWorker<unknown>>> {
  readonly [ModuleTypeId]: ModuleTypeId
  readonly workers: Workers
  readonly layer: Layer.Layer<ServicesOf<Workers>, unknown, never> | undefined
  /** The periodic entries `verk run` runs (see Periodic.ts); none when the module gives none. */
  readonly periodic: ReadonlyArray<Periodic.Entry>
  /** The limits per queue `verk run` admits jobs by (see Limits.ts); none when the module gives none. */
  readonly queueLimits: Limits.QueueLimitsShape
}

/**
 * What `module` takes: the workers, and a layer that provides every service they use and needs
 * nothing itself (it may provide more). `layer` may be left out only when the workers use no service.
 */
export type ModuleOptions<Workers extends ReadonlyArray<AnyWorker<unknown>>> = {
  readonly workers: Workers
  readonly periodic?: ReadonlyArray<Periodic.Entry> | undefined
  readonly queueLimits?: Limits.QueueLimitsShape | undefined
} & ([ServicesOf<Workers>] extends [never]
  ? { readonly layer?: Layer.Layer<never, unknown, never> | undefined }
  : { readonly layer: Layer.Layer<ServicesOf<Workers>, unknown, never> })

/**
 * A typed worker module for `verk run`: `export default Verk.module({ workers: [A, B], layer })`.
 * A service that a worker uses and `layer` does not provide is a type error here, where with named
 * exports (`export const layer`) it is found only when a job runs. `verk run` runs exactly these
 * workers with this layer; the module's other exports are not looked at.
 */
export const module = <const Workers extends ReadonlyArray<AnyWorker<unknown>>>(
  options: ModuleOptions<Workers>,
): Module<Workers> => ({
  [ModuleTypeId]: ModuleTypeId,
  workers: options.workers,
  layer: options.layer as Layer.Layer<ServicesOf<Workers>, unknown, never> | undefined,
  periodic: options.periodic ?? [],
  queueLimits: options.queueLimits ?? {},
})

/** Whether `value` was made by `module` (by any copy of this library). */
export const isModule = (value: unknown): value is Module =>
  typeof value === "object" &&
  value !== null &&
  (value as { readonly [ModuleTypeId]?: unknown })[ModuleTypeId] === ModuleTypeId
