/**
 * The top layer: starts the configured queues, the scheduler and the stats flusher on a store,
 * and offers run-time control (add, remove, pause, resume) and a live view of the queues.
 *
 *   Verk.layer({ queues: { default: 25 } })  // needs a Store and a WorkerRegistry
 *
 * Each queue is a scoped fiber in a FiberMap; closing the layer's scope shuts every queue down
 * gracefully (see QueueSupervisor).
 */
import { type Config, Context, Effect, FiberMap, Layer, type Scope, type Stream } from "effect"
import { Client } from "./Client.ts"
import { Settings, type VerkConfigInput } from "./Config.ts"
import { Events, type VerkEvent } from "./Events.ts"
import { Node } from "./Node.ts"
import { Processor } from "./Processor.ts"
import * as QueueSupervisor from "./QueueSupervisor.ts"
import * as Scheduler from "./Scheduler.ts"
import { Stats } from "./Stats.ts"
import { Store, type StoreError } from "./Store.ts"
import { WakeUp } from "./WakeUp.ts"
import type { WorkerRegistry } from "./Worker.ts"

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
  /** Events from now on; `subscribe` first when nothing may be missed. */
  readonly events: Stream.Stream<VerkEvent>
  readonly subscribe: Effect.Effect<Stream.Stream<VerkEvent>, never, Scope.Scope>
}

export class Verk extends Context.Service<Verk, VerkShape>()("@verk/core/Verk") {
  /** The runtime, with its settings given here. */
  static layer(config: VerkConfigInput = {}): Layer.Layer<Verk | Events | Client, never, Store | WorkerRegistry> {
    return runtime.pipe(Layer.provide(Settings.layer(config)))
  }

  /** The runtime, with its settings read from the environment (see Config.fromEnv). */
  static readonly layerFromEnv: Layer.Layer<Verk | Events | Client, Config.ConfigError, Store | WorkerRegistry> =
    Layer.suspend(() => runtime.pipe(Layer.provide(Settings.layerFromEnv)))
}

const make = Effect.gen(function* () {
  const store = yield* Store
  const events = yield* Events
  const settings = yield* Settings
  const node = yield* Node
  const context = yield* Effect.context<Store | Events | Processor | Node | Settings | WakeUp>()

  const queues = yield* FiberMap.make<string, never>()
  const handles = new Map<string, QueueSupervisor.QueueHandle>()

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

  yield* Effect.forkScoped(Scheduler.run())
  for (const [queue, concurrency] of Object.entries(settings.queues)) yield* addQueue(queue, concurrency)
  yield* Effect.logInfo(`Verk node ${node.id} running queues ${Object.keys(settings.queues).join(", ")}`)

  return {
    nodeId: node.id,
    addQueue,
    removeQueue,
    pause: (queue: string) => store.setPaused(queue, true),
    resume: (queue: string) => store.setPaused(queue, false),
    queueStats: Effect.forEach([...handles.values()], (handle) => handle.stats).pipe(
      Effect.map((stats) => [...stats].sort((a, b) => a.queue.localeCompare(b.queue))),
    ),
    events: events.stream,
    subscribe: events.subscribe,
  } satisfies VerkShape
})

const runtime = Layer.effect(Verk, make).pipe(
  Layer.provide(Processor.layer),
  Layer.provide(Layer.mergeAll(WakeUp.layer, Stats.layer)),
  Layer.provideMerge(Layer.mergeAll(Node.layer, Events.layer, Client.layer)),
)
