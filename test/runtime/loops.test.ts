/**
 * Acceptance: no background loop of a node can die. Every store call a loop makes fails once with
 * a defect (not a store error: those each loop handles itself); each loop is logged at Error,
 * restarted, and does its work afterwards, and `Verk.health` reports every loop alive again.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Logger, References, Schema, Stream } from "effect"
import { type StoreShape, context as storeContext } from "../../packages/core/src/Store.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { eventually, forEachStore, forJid, type StoreKind, startNode, type TestStore } from "./support.ts"

const config = {
  queues: { default: 2 },
  pollInterval: "200 millis",
  shutdownTimeout: "200 millis",
  heartbeatInterval: "300 millis",
  statsFlushInterval: "200 millis",
} as const

/**
 * The store, with a defect thrown by the first call of each named operation once `armed` is set.
 * `notifications` dies at its first notification after that.
 */
const breakingOnce = (testStore: TestStore) => {
  const state = { armed: false, broken: new Set<string>() }
  const once = (name: string) => state.armed && !state.broken.has(name) && state.broken.add(name) !== undefined
  const inner = testStore.store
  const breaking =
    <Args extends ReadonlyArray<unknown>, A, E>(name: string, operation: (...args: Args) => Effect.Effect<A, E>) =>
    (...args: Args) =>
      Effect.suspend(() => (once(name) ? Effect.die(new Error(`${name} broke`)) : operation(...args)))
  const store: StoreShape = {
    ...inner,
    earliest: breaking("earliest", inner.earliest),
    fetch: breaking("fetch", inner.fetch),
    heartbeat: breaking("heartbeat", inner.heartbeat),
    nodes: breaking("nodes", () => inner.nodes)(),
    queueSize: breaking("queueSize", inner.queueSize),
    pausedQueues: breaking("pausedQueues", () => inner.pausedQueues)(),
    incrementStats: breaking("incrementStats", inner.incrementStats),
    notifications: inner.notifications.pipe(
      Stream.tap(() => (once("notifications") ? Effect.die(new Error("notifications broke")) : Effect.void)),
    ),
  }
  return { state, testStore: { ...testStore, store, context: storeContext(store) } satisfies TestStore }
}

const loops = (kind: StoreKind) => {
  it.live("every loop that dies is logged at Error and restarted, and then does its work", () => {
    const errors: Array<string> = []
    return Effect.gen(function* () {
      const { state, testStore } = breakingOnce(yield* kind.open)
      const Ok = Worker.make({ name: "Ok", args: Schema.Tuple([]), perform: () => Effect.void })
      const node = yield* startNode(testStore, config, [Ok])
      state.armed = true

      // Each needs the fetch loop, the scheduler, or both, to come back.
      const now = yield* node.client.enqueue(Ok, [])
      const later = yield* node.client.schedule(Ok, [], "100 millis")
      yield* node.events.await(forJid("JobFinished", now.jid), 1, { timeout: "10 seconds" })
      yield* node.events.await(forJid("JobFinished", later.jid), 1, { timeout: "10 seconds" })

      yield* eventually(
        "every operation broke once",
        Effect.sync(() => state.broken.size === 8),
        "10 seconds",
      )
      // Stats counted while their flush was broken are written by a later flush.
      yield* eventually(
        "both runs counted",
        Effect.map(testStore.store.stats(), (stats) => stats.processed === 2),
        "10 seconds",
      )
      yield* eventually(
        "every loop alive again",
        Effect.map(node.verk.health, (health) => health.healthy),
        "10 seconds",
      )
      for (const loop of ["scheduler", "fetch default", "heartbeat", "recovery", "queue poll", "pause refresh"]) {
        assert.include(errors, `The ${loop} loop failed; restarting it`)
      }
      assert.include(errors, "The notifications loop failed; restarting it")
      assert.include(errors, "Could not flush job stats")
    }).pipe(
      Effect.provide(
        Logger.layer([
          Logger.make(({ logLevel, message }) => {
            if (logLevel === "Error")
              errors.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
          }),
        ]),
      ),
      Effect.provideService(References.MinimumLogLevel, "Error"),
    )
  })
}

forEachStore(loops)
