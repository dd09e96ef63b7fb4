/**
 * What the job-path tests (JobRun, Pool, Fetcher, Acker) share: the node's services on the
 * in-memory store, with a store that counts, refuses and holds writes (`Probe`), an event
 * recorder in place of the PubSub (`Recorder`), and a few small helpers.
 */
import { Context, Deferred, Effect, Layer, Logger, References, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as Client from "../src/Client.ts"
import { Events, type VerkEvent } from "../src/Events.ts"
import { DeadLetter } from "../src/internal/DeadLetter.ts"
import { Isolation } from "../src/internal/Isolation.ts"
import { Node } from "../src/internal/Node.ts"
import * as Processor from "../src/internal/Processor.ts"
import * as ProgressBoard from "../src/internal/ProgressBoard.ts"
import { WakeUp } from "../src/internal/WakeUp.ts"
import * as MemoryStore from "../src/MemoryStore.ts"
import * as Settings from "../src/Settings.ts"
import * as Stats from "../src/Stats.ts"
import { StoreError, type StoreShape, context as storeContext } from "../src/Store.ts"
import { type AnyWorker, layerRegistry, type WorkerRegistry } from "../src/Worker.ts"

export const queue = "default"
export const node = "n1"

/** The store operations a Probe can count, refuse and hold. */
export type Op = {
  [K in keyof StoreShape]: StoreShape[K] extends (...args: never) => unknown ? K : never
}[keyof StoreShape]

/**
 * The in-memory store behind a wrapper that counts each operation's calls, refuses the next
 * `refuse(op, n)` calls with a StoreError, and holds calls of a `hold`-ed op until released.
 * `memory` is the plain store beneath, for setting up and looking without being counted.
 */
export class Probe extends Context.Service<
  Probe,
  {
    readonly store: StoreShape
    readonly memory: StoreShape
    readonly calls: (op: Op) => number
    readonly refuse: (op: Op, times: number) => void
    /** From now on calls of `op` wait (before they run) until the effect it returns releases them. */
    readonly hold: (op: Op) => Effect.Effect<Effect.Effect<void>>
  }
>()("test/Probe") {
  static readonly layer = Layer.effect(
    Probe,
    Effect.gen(function* () {
      const memory = yield* MemoryStore.make
      const calls = new Map<string, number>()
      const refusals = new Map<string, number>()
      const gates = new Map<string, Deferred.Deferred<void>>()
      const store = { ...memory } as Record<string, unknown>
      for (const [key, value] of Object.entries(memory)) {
        if (typeof value !== "function") continue
        const operation = value as (...args: ReadonlyArray<unknown>) => Effect.Effect<unknown, StoreError>
        store[key] = (...args: ReadonlyArray<unknown>) =>
          Effect.suspend(() => {
            calls.set(key, (calls.get(key) ?? 0) + 1)
            const refused = refusals.get(key) ?? 0
            if (refused > 0) {
              refusals.set(key, refused - 1)
              return Effect.fail(new StoreError({ operation: key, cause: new Error(`${key} refused (test)`) }))
            }
            const gate = gates.get(key)
            return gate === undefined
              ? operation(...args)
              : Effect.andThen(
                  Deferred.await(gate),
                  Effect.suspend(() => operation(...args)),
                )
          })
      }
      return {
        store: store as unknown as StoreShape,
        memory,
        calls: (op) => calls.get(op) ?? 0,
        refuse: (op, times) => void refusals.set(op, times),
        hold: (op) =>
          Effect.sync(() => {
            const gate = Deferred.makeUnsafe<void>()
            gates.set(op, gate)
            return Effect.suspend(() => {
              if (gates.get(op) === gate) gates.delete(op)
              return Deferred.succeed(gate, undefined)
            })
          }),
      }
    }),
  )
}

const StoreLayer = Layer.effectContext(Effect.map(Probe, (probe) => storeContext(probe.store))).pipe(
  Layer.provideMerge(Probe.layer),
)

/**
 * Every event published, in order (in place of the node's PubSub, so that nothing is lost to a
 * subscription that starts late). `dieOn` makes the publish of matching events die.
 */
export class Recorder extends Context.Service<
  Recorder,
  {
    readonly events: Array<VerkEvent>
    dieOn: ((event: VerkEvent) => boolean) | undefined
  }
>()("test/Recorder") {}

const EventsLayer = Layer.effect(
  Events,
  Effect.gen(function* () {
    const recorder = yield* Recorder
    const publish = (event: VerkEvent) =>
      Effect.suspend(() => {
        if (recorder.dieOn?.(event)) return Effect.die(new Error(`publishing ${event._tag} died (test)`))
        recorder.events.push(event)
        return Effect.void
      })
    return {
      publish,
      hasSubscribers: () => true,
      subscribe: Effect.succeed(Stream.empty),
      stream: Stream.empty,
    }
  }),
).pipe(Layer.provideMerge(Layer.sync(Recorder, () => ({ events: [], dieOn: undefined }))))

/** Job log lines off, and a fixed node id. */
const baseSettings: Settings.Input = {
  nodeId: node,
  queues: { [queue]: 1 },
  logLevels: { start: "None", done: "None", fail: "None" },
}

/**
 * The services a queue of node `n1` needs (Processor, DeadLetter, Isolation, WakeUp, Node, Stats,
 * Client), on a Probe-wrapped in-memory store, with `workers` (or the `registry` given).
 */
export const layer = (options: {
  readonly workers?: ReadonlyArray<AnyWorker<never>>
  readonly registry?: Layer.Layer<WorkerRegistry>
  readonly settings?: Settings.Input
}) => {
  const bottom = Layer.mergeAll(StoreLayer, EventsLayer, Settings.layer({ ...baseSettings, ...options.settings }))
  const middle = Layer.mergeAll(
    Stats.layer,
    Client.layer,
    options.registry ?? layerRegistry(options.workers ?? []),
    Node.layer,
    Isolation.layer,
    WakeUp.layer,
    DeadLetter.layer,
    ProgressBoard.layer,
  )
  return Processor.layer.pipe(Layer.provideMerge(middle), Layer.provideMerge(bottom))
}

/** 2025-01-01T00:00:00Z: the TestClock's time when a test's services start (see `provideAtT0`). */
export const T0 = Date.UTC(2025, 0, 1)
export const T0Seconds = T0 / 1000

/**
 * Provides `env` to `effect`, with the TestClock set to T0 before it is built: moving the clock
 * after, so far, would run every repeating loop of the node (stats flush, polls) once a second
 * all the way from 1970.
 */
export const provideAtT0 =
  <ROut, E2>(env: Layer.Layer<ROut, E2>) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | E2, Exclude<R, ROut>> =>
    Effect.andThen(TestClock.setTime(T0), Effect.provide(effect, env))

/**
 * Lets forked fibers run up to their next wait: each yield is one turn of the event loop (Effect's
 * scheduler and Turn.ts both use `setImmediate`), so batches that wait for the end of a turn close.
 */
export const settle = Effect.gen(function* () {
  for (let i = 0; i < 30; i++) yield* Effect.yieldNow
})

/** A job's wire text, as Sidekiq's client writes it (plus `extra`). */
export const rawJob = (className: string, jid: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ class: className, queue, args: [], jid, enqueued_at: 1_700_000_000, ...extra })

export const parse = (raw: string): Record<string, unknown> => JSON.parse(raw) as Record<string, unknown>

/** The members of a sorted set of the store beneath, parsed, with their scores. */
export const setEntries = (set: "retry" | "schedule" | "dead") =>
  Effect.gen(function* () {
    const members = yield* (yield* Probe).memory.setRange(set, 0, -1)
    return members.map(({ payload, score }) => ({ score, job: parse(payload) }))
  })

/** The queue's jobs' jids, next to run last. */
export const queuedJids = Effect.gen(function* () {
  const raws = yield* (yield* Probe).memory.queueRange(queue, 0, -1)
  return raws.map((raw) => parse(raw).jid)
})

/** How many jobs node `n1` holds in progress for the queue. */
export const inProgressCount = Effect.gen(function* () {
  return (yield* (yield* Probe).memory.inProgress(queue, node)).length
})

/** Sidekiq's processed and failed counters, once the node's pending counts are flushed. */
export const counted = Effect.gen(function* () {
  yield* (yield* Stats.Stats).flush
  return yield* (yield* Probe).memory.stats()
})

/** The events recorded so far with one of these tags. */
export const eventsTagged = <const Tag extends VerkEvent["_tag"]>(...tags: ReadonlyArray<Tag>) =>
  Effect.gen(function* () {
    return (yield* Recorder).events.filter((event): event is Extract<VerkEvent, { _tag: Tag }> =>
      (tags as ReadonlyArray<string>).includes(event._tag),
    )
  })

/** Runs `effect` with each log line (level and message) recorded in `lines`. */
export const recordLogs =
  (lines: Array<{ readonly level: string; readonly message: string }>) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    effect.pipe(
      Effect.provide(
        Logger.layer([
          Logger.make(({ logLevel, message }) => {
            lines.push({
              level: logLevel,
              message: Array.isArray(message) ? message.map(String).join(" ") : String(message),
            })
          }),
        ]),
      ),
      Effect.provideService(References.MinimumLogLevel, "Debug"),
    )

/** Gates by key, each a Deferred made on first use: a job that waits on its gate runs until `open`. */
export const makeGates = () => {
  const gates = new Map<string, Deferred.Deferred<void>>()
  const gate = (key: string) => {
    let found = gates.get(key)
    if (found === undefined) {
      found = Deferred.makeUnsafe<void>()
      gates.set(key, found)
    }
    return found
  }
  const open = (key: string) => Deferred.succeed(gate(key), undefined)
  return { gate, open }
}
