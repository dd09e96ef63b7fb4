/**
 * What the store conformance suites share: wire jobs, views of what a store holds, a notification
 * listener, and `roleSuite`, which declares one role's suite so that it runs on every store kind
 * (the in-memory store, Redis, Redis with the cluster key scheme, a Redis Cluster).
 *
 * Scores and times are passed to the store explicitly, so the TestClock of `it.effect` does not
 * matter except for `requeueNow`, which reads `Clock` (checked against the clock read around it).
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, type Layer, Queue, type Scope, Stream } from "effect"
import {
  type DeadSetLimits,
  type Heartbeat,
  type Notification,
  type Services,
  Store,
  type StoreShape,
} from "../../packages/core/src/Store.ts"

/** A valid wire job; `extra` overrides or adds keys. */
export const job = (jid: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ class: "TestWorker", queue: "default", args: [jid], jid, ...extra })

export const parse = (raw: string): Record<string, unknown> => {
  const value: unknown = JSON.parse(raw)
  assert.isTrue(typeof value === "object" && value !== null && !Array.isArray(value), `not a JSON object: ${raw}`)
  return value as Record<string, unknown>
}

export const NoLimits: DeadSetLimits = { maxJobs: 1_000_000, maxAgeSeconds: 1_000_000_000 }

/** What a fetch took, as payloads (tokens are looked at where they matter). */
export const fetched = (store: StoreShape, ...args: Parameters<StoreShape["fetch"]>) =>
  Effect.map(store.fetch(...args), (taken) => ({ ...taken, jobs: taken.jobs.map(({ raw }) => raw) }))

/** A node's in-progress payloads, newest first. */
export const held = (store: StoreShape, queue: string, node: string) =>
  Effect.map(store.inProgress(queue, node), (jobs) => jobs.map(({ raw }) => raw).reverse())

/** The tokens of in-progress entries holding `raws`, each entry used once, oldest first. */
export const tokensOf = (store: StoreShape, queue: string, node: string, raws: ReadonlyArray<string>) =>
  Effect.map(store.inProgress(queue, node), (jobs) => {
    const left = [...jobs]
    return raws.map((raw) => {
      const index = left.findIndex((job) => job.raw === raw)
      assert.isAtLeast(index, 0, `${raw} is not in progress on ${node}`)
      return left.splice(index, 1)[0]!.token
    })
  })

/** A recovery batch, its poison pills as payloads. */
export const recoverRaws = (store: StoreShape, ...args: Parameters<StoreShape["recoverBatch"]>) =>
  Effect.map(store.recoverBatch(...args), ({ taken, poisoned }) => ({
    taken,
    poisoned: poisoned.map(({ raw }) => raw),
  }))

/** The token of the in-progress entry holding `raw`. */
export const tokenOf = (store: StoreShape, queue: string, node: string, raw: string) =>
  Effect.map(tokensOf(store, queue, node, [raw]), ([token]) => token!)

/** A heartbeat of `node` with nothing running. */
export const beat = (node: string, ttlMillis: number, now: number): Heartbeat => ({
  node,
  ttlMillis,
  now,
  info: "{}",
  busy: 0,
  work: [],
})

/**
 * Makes `raws` suspects on an empty `queue`: node `dead` fetches them, dies, and one recovery puts
 * them back at the front of the queue, oldest first.
 */
export const recovered = (queue: string, raws: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const store = yield* Store
    yield* store.enqueue(queue, raws)
    assert.deepStrictEqual((yield* fetched(store, queue, "dead", raws.length)).jobs, raws)
    assert.deepStrictEqual(yield* recoverRaws(store, queue, "dead", 5), { taken: raws.length, poisoned: [] })
    assert.deepStrictEqual(yield* held(store, queue, "dead"), [])
  })

/** Queue names whose Pause notifications the listener uses for itself; tests never use them. */
export const Probe = "__probe__"
export const Fence = "__fence__"

/** How long (real time) a test waits for a notification it expects before failing. */
export const NotificationWait = "750 millis"

export const show = (notices: ReadonlyArray<Notification>): string => JSON.stringify(notices)

/** Notifications in a stable order, for sources whose order the contract leaves open. */
export const sorted = (notices: ReadonlyArray<Notification>): Array<Notification> =>
  [...notices].sort((a, b) => show([a]).localeCompare(show([b])))

/**
 * Runs `store.notifications` in a scoped fiber, collecting into a queue, and returns once the
 * subscription is live: a Redis subscription is made asynchronously after the stream starts, so
 * it keeps publishing a harmless probe (un-pausing `__probe__`) until the stream hears one.
 * Probe notifications are never collected.
 */
export const listen = Effect.gen(function* () {
  const store = yield* Store
  const received = yield* Queue.unbounded<Notification>()
  const ready = yield* Deferred.make<void>()
  yield* store.notifications.pipe(
    Stream.runForEach((notice) =>
      notice._tag === "Pause" && notice.queue === Probe
        ? Deferred.succeed(ready, undefined)
        : Queue.offer(received, notice),
    ),
    Effect.forkScoped,
  )
  const poke = yield* store
    .setPaused(Probe, false)
    .pipe(Effect.andThen(Effect.sleep("10 millis")), Effect.forever, Effect.forkScoped)
  yield* Deferred.await(ready).pipe(
    Effect.timeoutOrElse({
      duration: "3 seconds",
      orElse: () => Effect.die(new Error("the notification stream never heard the probe")),
    }),
  )
  yield* Fiber.interrupt(poke)

  /** The next `count` notifications; fails, saying what did arrive, if they do not come in time. */
  const next = (count: number) =>
    Effect.gen(function* () {
      const got: Array<Notification> = []
      yield* Effect.gen(function* () {
        while (got.length < count) got.push(yield* Queue.take(received))
      }).pipe(
        Effect.timeoutOrElse({
          duration: NotificationWait,
          orElse: () =>
            Effect.sync(() =>
              assert.fail(`expected ${count} notification(s) within ${NotificationWait}, got ${show(got)}`),
            ),
        }),
      )
      return got
    })

  /**
   * Asserts that nothing was published since the last `next`: publishes a fence (un-pausing
   * `__fence__`) and expects it to be the very next notification, since one publisher's
   * notifications arrive in order.
   */
  const quiet = Effect.gen(function* () {
    yield* store.setPaused(Fence, false)
    const got: Array<Notification> = []
    yield* Effect.gen(function* () {
      while (true) {
        const notice = yield* Queue.take(received)
        if (notice._tag === "Pause" && notice.queue === Fence) return
        got.push(notice)
      }
    }).pipe(
      Effect.timeoutOrElse({
        duration: NotificationWait,
        orElse: () => Effect.sync(() => assert.fail(`the fence notification never arrived; got ${show(got)}`)),
      }),
    )
    assert.deepStrictEqual(got, [], `unexpected notifications: ${show(got)}`)
  })

  return { next, quiet }
})

export interface ConformanceOptions {
  /**
   * The Redis store's cluster key scheme, where each queue's keys live in their own slot: a job's
   * recoveries are counted per queue.
   */
  readonly shardedByQueue?: boolean
  /** A real Redis Cluster: `limitUsage`, which scans one Redis's keys, fails there by design. */
  readonly onRedisCluster?: boolean
}

/** A fresh store of one kind per call: the aggregate `Store` and its four roles. */
export type MakeStoreLayer = () => Layer.Layer<Services, unknown>

/** Declares one test on a fresh store. */
export type StoreTest = <A>(title: string, body: Effect.Effect<A, unknown, Services | Scope.Scope>) => void

/** What a role's suite is given to declare its tests. */
export interface SuiteContext {
  /** One test on a fresh store. Switch to `it.live` here if a store misbehaves under TestClock. */
  readonly test: StoreTest
  /** One test on a fresh store, in real time: notification tests wait with real timeouts. */
  readonly liveTest: StoreTest
  readonly options: ConformanceOptions
}

/**
 * One role's conformance suite, to run on each store kind: `describe("<kind>: <role>")` with a
 * first test that the store layer provides the role's service, its operations being the
 * aggregate's, then the role's tests.
 */
export const roleSuite =
  <I, S extends object>(
    role: string,
    service: Effect.Effect<S, never, I>,
    operations: ReadonlyArray<keyof S & keyof StoreShape>,
    tests: (suite: SuiteContext) => void,
  ) =>
  (name: string, makeLayer: MakeStoreLayer, options: ConformanceOptions = {}) =>
    describe(`${name}: ${role}`, () => {
      const test: StoreTest = (title, body) => it.effect(title, () => Effect.provide(body, makeLayer()))
      const liveTest: StoreTest = (title, body) => it.live(title, () => Effect.provide(body, makeLayer()))
      test(
        `provides the ${role} role beside the aggregate Store`,
        Effect.gen(function* () {
          const store = yield* Store
          const provided = yield* service as Effect.Effect<S, never, Services>
          for (const operation of operations) {
            assert.strictEqual(provided[operation], store[operation] as unknown, `${String(operation)} differs`)
          }
        }),
      )
      tests({ test, liveTest, options })
    })
