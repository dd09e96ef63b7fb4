/**
 * The runtime acceptance harness: every scenario is written once, as a suite taking a `StoreKind`,
 * and runs on both stores (`forEachStore`). A test opens a fresh store (`kind.open`), starts one or
 * more runtimes on it (`startNode`), and watches each runtime's events (`node.events`).
 *
 * Time: scenarios on the real clock use `it.live`; retry and schedule scenarios use `it.effect`
 * (TestClock) and move time with `TestClock.adjust`. With Redis, real I/O happens between the
 * steps, so waits are on events (with a real-time guard, `live`), and `settle` gives in-flight I/O
 * a moment before the clock moves again.
 */
import { describe } from "@effect/vitest"
import { Clock, Context, Duration, Effect, Layer, Queue, References, type Scope, Stream } from "effect"
import type { TestClock } from "effect/testing"
import { Redis } from "ioredis"
import type { ClientShape } from "../../packages/core/src/Client.ts"
import { Client } from "../../packages/core/src/Client.ts"
import type { CurrentJob } from "../../packages/core/src/CurrentJob.ts"
import type { VerkEvent } from "../../packages/core/src/Events.ts"
import * as MemoryStore from "../../packages/core/src/MemoryStore.ts"
import type * as Settings from "../../packages/core/src/Settings.ts"
import { Store, type Services as StoreServices, type StoreShape } from "../../packages/core/src/Store.ts"
import * as Verk from "../../packages/core/src/Verk.ts"
import type { AnyWorker } from "../../packages/core/src/Worker.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { cleanupNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"

// ---------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------

/** Runs `effect` on the real clock, also inside `it.effect` (where the clock is a TestClock). */
export const live = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Clock.clockWith((clock) => {
    const test = clock as Partial<TestClock.TestClock>
    return typeof test.withLive === "function" && typeof test.adjust === "function" ? test.withLive(effect) : effect
  })

/** Sleeps in real time, whatever the clock. */
export const realSleep = (duration: Duration.Input) => live(Effect.sleep(duration))

/** A fixed, realistic start time for TestClock scenarios (2025-01-01T00:00:00Z). */
export const T0 = Date.UTC(2025, 0, 1)

// ---------------------------------------------------------------------------------------------
// Stores
// ---------------------------------------------------------------------------------------------

export interface TestStore {
  readonly isRedis: boolean
  readonly store: StoreShape
  /** The store's services: the aggregate and its four roles. */
  readonly context: Context.Context<StoreServices>
  /** Waits until `count` runtimes listen to the store's notifications (Redis: PUBSUB NUMSUB). */
  readonly awaitListeners: (count: number) => Effect.Effect<void>
  /**
   * Lets in-flight work land before the test moves on (or moves the TestClock): a few yields for
   * the in-memory store, a short real-time pause for Redis, whose I/O is asynchronous.
   */
  readonly settle: Effect.Effect<void>
  /** How many runtimes were started on this store (see `startNode`). */
  started: number
  /** Where a Redis store's keys are (`<namespace>:retry`...), to read them with a client of one's own. */
  readonly redis?:
    | { readonly url: string; readonly namespace: string; readonly keyScheme: "sidekiq" | "cluster" }
    | undefined
}

export interface StoreKind {
  readonly name: "MemoryStore" | "RedisStore" | "RedisStore (cluster key scheme)"
  readonly isRedis: boolean
  /** A fresh, empty store, closed (and for Redis, its keys deleted) with the current scope. */
  readonly open: Effect.Effect<TestStore, unknown, Scope.Scope>
}

const memoryKind: StoreKind = {
  name: "MemoryStore",
  isRedis: false,
  open: Effect.gen(function* () {
    const context = yield* Layer.build(Layer.fresh(MemoryStore.layer))
    return {
      isRedis: false,
      store: Context.get(context, Store),
      context,
      awaitListeners: () => Effect.void,
      settle: Effect.repeat(Effect.yieldNow, { times: 50 }),
      started: 0,
    }
  }),
}

/**
 * Polls PUBSUB NUMSUB (SHARDNUMSUB for the cluster key scheme's shard channel) on the store's
 * notification channel until `count` subscribers listen.
 */
const awaitSubscribers = async (url: string, channel: string, count: number, sharded: boolean): Promise<void> => {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await client.connect()
    const deadline = Date.now() + 5_000
    while (true) {
      const reply = (await client.call("PUBSUB", sharded ? "SHARDNUMSUB" : "NUMSUB", channel)) as [string, number]
      if (Number(reply[1]) >= count) return
      if (Date.now() > deadline) throw new Error(`only ${reply[1]} of ${count} runtimes subscribed to ${channel}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  } finally {
    client.disconnect()
  }
}

/**
 * A fresh Redis store under its own namespace on `url` (the run's shared server unless given),
 * its keys deleted with the current scope.
 */
export const openRedisStore = (
  keyScheme: "sidekiq" | "cluster",
  url: string = redisUrl(),
): Effect.Effect<TestStore, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const namespace = uniqueNamespace()
    const context = yield* Layer.build(
      Layer.merge(RedisStore.layer({ url, namespace, keyScheme }), cleanupNamespace(url, namespace)),
    )
    return {
      isRedis: true,
      store: Context.get(context, Store),
      context,
      awaitListeners: (count: number) =>
        Effect.promise(() =>
          keyScheme === "cluster"
            ? awaitSubscribers(url, `${namespace}:{verk}:verk:notify`, count, true)
            : awaitSubscribers(url, `${namespace}:verk:notify`, count, false),
        ),
      settle: realSleep("50 millis"),
      started: 0,
      redis: { url, namespace, keyScheme },
    }
  })

const redisKindWith = (name: StoreKind["name"], keyScheme: "sidekiq" | "cluster"): StoreKind => ({
  name,
  isRedis: true,
  open: Effect.suspend(() => openRedisStore(keyScheme)),
})

export const storeKinds: ReadonlyArray<StoreKind> = [
  memoryKind,
  redisKindWith("RedisStore", "sidekiq"),
  redisKindWith("RedisStore (cluster key scheme)", "cluster"),
]

/** Declares `suite` once per store, in a `describe` named after the store. */
export const forEachStore = (suite: (kind: StoreKind) => void): void => {
  for (const kind of storeKinds) describe(kind.name, () => suite(kind))
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

export interface AwaitOptions {
  /** Real-time limit (default 5 s). */
  readonly timeout?: Duration.Input | undefined
}

export interface EventLog {
  /** Every event seen so far, in order. */
  readonly all: () => ReadonlyArray<VerkEvent>
  readonly count: (predicate: (event: VerkEvent) => boolean) => number
  /** Waits until at least `count` events satisfy `predicate`; returns those. Dies on timeout. */
  readonly await: <A extends VerkEvent = VerkEvent>(
    predicate: ((event: VerkEvent) => event is A) | ((event: VerkEvent) => boolean),
    count?: number,
    options?: AwaitOptions,
  ) => Effect.Effect<ReadonlyArray<A>>
}

const describeEvents = (events: ReadonlyArray<VerkEvent>): string =>
  events
    .slice(-30)
    .map((event) => `${event._tag}(${"jid" in event ? event.jid : "queue" in event ? event.queue : ""})`)
    .join(", ")

/** Subscribes now (nothing published from here on is missed) and records every event. */
export const recordEvents = Effect.fnUntraced(function* (verk: Verk.VerkShape) {
  const stream = yield* verk.subscribe
  const log: Array<VerkEvent> = []
  const signal = yield* Queue.sliding<void>(1)
  yield* stream.pipe(
    Stream.runForEach((event) =>
      Effect.sync(() => log.push(event)).pipe(Effect.andThen(Queue.offer(signal, undefined))),
    ),
    Effect.forkScoped,
  )

  const waitFor = (predicate: (event: VerkEvent) => boolean, count: number) =>
    Effect.gen(function* () {
      while (true) {
        const matched = log.filter(predicate)
        if (matched.length >= count) return matched
        yield* Queue.take(signal)
      }
    })

  const awaitEvents = <A extends VerkEvent>(
    predicate: (event: VerkEvent) => boolean,
    count = 1,
    options: AwaitOptions = {},
  ): Effect.Effect<ReadonlyArray<A>> =>
    Effect.gen(function* () {
      const timeout = Duration.fromInputUnsafe(options.timeout ?? "5 seconds")
      const fail = () =>
        Effect.die(
          new Error(
            `waited ${Duration.format(timeout)} for ${count} matching event(s), saw ${log.filter(predicate).length}; ` +
              `last events: ${describeEvents(log)}`,
          ),
        )
      const found = yield* live(
        waitFor(predicate, count).pipe(Effect.timeoutOrElse({ duration: timeout, orElse: fail })),
      )
      return found as unknown as ReadonlyArray<A>
    })

  return {
    all: () => log,
    count: (predicate) => log.filter(predicate).length,
    await: awaitEvents,
  } satisfies EventLog as EventLog
})

/** Event predicates. */
export const is =
  <const Tag extends VerkEvent["_tag"]>(tag: Tag, where?: (event: Extract<VerkEvent, { _tag: Tag }>) => boolean) =>
  (event: VerkEvent): event is Extract<VerkEvent, { _tag: Tag }> =>
    event._tag === tag && (where === undefined || where(event as Extract<VerkEvent, { _tag: Tag }>))

export const forJid =
  <const Tag extends "JobStarted" | "JobFinished" | "JobFailed" | "JobDead">(tag: Tag, jid: string) =>
  (event: VerkEvent): event is Extract<VerkEvent, { _tag: Tag }> =>
    event._tag === tag && (event as { readonly jid?: string | undefined }).jid === jid

export const forQueue =
  <const Tag extends "QueueRunning" | "QueuePausing" | "QueuePaused">(tag: Tag, queue: string) =>
  (event: VerkEvent): event is Extract<VerkEvent, { _tag: Tag }> =>
    event._tag === tag && (event as { readonly queue: string }).queue === queue

// ---------------------------------------------------------------------------------------------
// Runtimes
// ---------------------------------------------------------------------------------------------

export interface TestNode {
  readonly verk: Verk.VerkShape
  readonly client: ClientShape
  readonly events: EventLog
}

/** Job log lines off: 1,000 jobs would flood the output. */
const Quiet = { start: "None", done: "None", fail: "None" } as const

/**
 * Starts a runtime (`Verk.layer(config)` with `workers`) on `testStore`, in `scope` (default: the
 * current one), subscribes to its events, and returns once it listens to store notifications.
 * Several nodes started on one `TestStore` share that one store instance.
 */
export const startNode = Effect.fnUntraced(function* (
  testStore: TestStore,
  config: Settings.Input,
  workers: ReadonlyArray<AnyWorker<CurrentJob>>,
  scope?: Scope.Scope,
) {
  const target = scope ?? (yield* Effect.scope)
  const layer = Verk.layer({ ...config, workers, logLevels: { ...Quiet, ...config.logLevels } }).pipe(
    Layer.provideMerge(Layer.succeedContext(testStore.context)),
  )
  const context = yield* Layer.buildWithScope(layer, target)
  const verk = Context.get(context, Verk.Verk)
  // Recorded in the caller's scope, not the runtime's: events published while the runtime shuts
  // down (jobs finishing within the shutdown timeout) are recorded too.
  const events = yield* recordEvents(verk)
  testStore.started += 1
  yield* testStore.awaitListeners(testStore.started)
  return { verk, client: Context.get(context, Client), events } satisfies TestNode
})

// ---------------------------------------------------------------------------------------------
// Store views
// ---------------------------------------------------------------------------------------------

export type Wire = Record<string, unknown> & {
  readonly jid?: string
  readonly args?: ReadonlyArray<unknown>
  readonly retry_count?: number
  readonly error_class?: string
  readonly error_message?: string
  readonly failed_at?: number
  readonly retried_at?: number
  readonly enqueued_at?: number
  readonly payload?: string
}

export const parse = (raw: string): Wire => JSON.parse(raw) as Wire

/** The members of a sorted set, parsed, with their scores. */
export const setEntries = (testStore: TestStore, set: "retry" | "schedule" | "dead") =>
  Effect.map(testStore.store.setRange(set, 0, -1), (members) =>
    members.map(({ payload, score }) => ({ raw: payload, score, job: parse(payload) })),
  )

/** The jobs of a queue, parsed, next-to-run last. */
export const queueJobs = (testStore: TestStore, queue: string) =>
  Effect.map(testStore.store.queueRange(queue, 0, -1), (raws) => raws.map(parse))

/** Polls `check` (on the real clock) until it holds; dies with `what` after `timeout`. */
export const eventually = <E, R>(
  what: string,
  check: Effect.Effect<boolean, E, R>,
  timeout: Duration.Input = "3 seconds",
): Effect.Effect<void, E, R> =>
  live(
    Effect.gen(function* () {
      while (!(yield* check)) yield* Effect.sleep("10 millis")
    }).pipe(Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.die(new Error(`never: ${what}`)) })),
  )

/** Keeps the runtime's Info logs (node started, queue stopped) out of the test output. */
export const quietLogs = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.provideService(effect, References.MinimumLogLevel, "Error")
