/**
 * Acceptance: pausing is stored with the jobs, so that pausing a queue on one node stops it on
 * every node sharing the store, and resuming restarts them all; a paused queue lets its running
 * jobs finish, starts no other, and only then reports itself paused.
 */
import { assert, it } from "@effect/vitest"
import { Deferred, Effect, Schema, Stream } from "effect"
import { CurrentJob } from "../../packages/core/src/CurrentJob.ts"
import { context as storeContext } from "../../packages/core/src/Store.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import {
  eventually,
  forEachStore,
  forQueue,
  is,
  quietLogs,
  realSleep,
  type StoreKind,
  startNode,
  type TestNode,
} from "./support.ts"

const config = { queues: { default: 2 }, pollInterval: "200 millis", shutdownTimeout: "200 millis" } as const

const status = (node: TestNode, queue: string) =>
  Effect.map(node.verk.queueStats, (stats) => stats.find((stat) => stat.queue === queue)?.status)

const pausing = (kind: StoreKind) => {
  it.live("two runtimes on one store: pausing on one stops both, resuming on the other restarts both", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const ranOn = new Map<number, string>()
      const Tick = Worker.make({
        name: "Tick",
        args: Schema.Tuple([Schema.Int]),
        perform: ([n]) =>
          Effect.gen(function* () {
            ranOn.set(n, (yield* CurrentJob).jid)
            yield* Effect.sleep("100 millis")
          }),
      })
      const a = yield* startNode(store, config, [Tick])
      const b = yield* startNode(store, config, [Tick])
      assert.notStrictEqual(a.verk.nodeId, b.verk.nodeId, "each runtime has its own generated node id")

      yield* a.verk.pause("default")
      yield* a.events.await(forQueue("QueuePaused", "default"))
      yield* b.events.await(forQueue("QueuePaused", "default"))
      assert.strictEqual(yield* status(a, "default"), "paused")
      assert.strictEqual(yield* status(b, "default"), "paused")

      const jobs = yield* a.client.enqueueMany(Tick, [[1], [2], [3], [4]])
      yield* realSleep("300 millis")
      assert.strictEqual(yield* store.store.queueSize("default"), 4, "nothing is fetched while paused")
      assert.strictEqual(a.events.count(is("JobStarted")) + b.events.count(is("JobStarted")), 0)
      assert.strictEqual(ranOn.size, 0)

      yield* b.verk.resume("default")
      yield* a.events.await(forQueue("QueueRunning", "default"))
      yield* b.events.await(forQueue("QueueRunning", "default"))
      const finished = () => a.events.count(is("JobFinished")) + b.events.count(is("JobFinished"))
      yield* eventually(
        "the 4 jobs finished",
        Effect.sync(() => finished() >= 4),
      )
      assert.strictEqual(finished(), 4)
      assert.strictEqual(ranOn.size, 4)
      assert.strictEqual(yield* store.store.queueSize("default"), 0)
      // Four jobs of 100 ms, two workers per node: both nodes took some.
      assert.isAbove(a.events.count(is("JobStarted")), 0, `node a ran none of ${jobs.length} jobs`)
      assert.isAbove(b.events.count(is("JobStarted")), 0, `node b ran none of ${jobs.length} jobs`)
    }).pipe(quietLogs),
  )

  it.live("a paused queue finishes its running jobs, starts no other, then emits QueuePaused", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const gate = yield* Deferred.make<void>()
      const started: Array<number> = []
      const Gated = Worker.make({
        name: "Gated",
        args: Schema.Tuple([Schema.Int]),
        perform: ([n]) =>
          Effect.gen(function* () {
            started.push(n)
            if (n < 0) yield* Deferred.await(gate)
          }),
      })
      const node = yield* startNode(store, config, [Gated])
      yield* Effect.addFinalizer(() => Deferred.succeed(gate, undefined))
      // Both workers busy on gated jobs, three more waiting behind them.
      const gated = yield* node.client.enqueueMany(Gated, [[-1], [-2]])
      yield* node.events.await(is("JobStarted"), 2)
      yield* node.client.enqueueMany(Gated, [[1], [2], [3]])

      yield* node.verk.pause("default")
      yield* realSleep("60 millis")
      assert.strictEqual(node.events.count(forQueue("QueuePaused", "default")), 0, "paused while jobs still run")

      yield* Deferred.succeed(gate, undefined)
      yield* node.events.await(forQueue("QueuePaused", "default"))
      yield* realSleep("150 millis")
      assert.deepStrictEqual(
        [...started].sort((x, y) => x - y),
        [-2, -1],
        "no job starts once the queue is paused",
      )
      assert.strictEqual(yield* store.store.queueSize("default"), 3)
      const log = node.events.all()
      const pausedAt = log.findIndex(forQueue("QueuePaused", "default"))
      for (const job of gated) {
        const finishedAt = log.findIndex((event) => event._tag === "JobFinished" && event.jid === job.jid)
        assert.isAtLeast(finishedAt, 0, "the running jobs finished")
        assert.isBelow(finishedAt, pausedAt, "QueuePaused comes after the running jobs finished")
      }
      assert.strictEqual(yield* status(node, "default"), "paused")

      yield* node.verk.resume("default")
      yield* node.events.await(is("JobFinished"), 5)
      assert.strictEqual(yield* store.store.queueSize("default"), 0)
    }).pipe(quietLogs),
  )

  it.live("a pause the node has not heard of yet still stops its next fetch: the store says the queue is paused", () =>
    Effect.gen(function* () {
      const opened = yield* kind.open
      // The node never hears a pause notification (one late under load, or lost): only the store
      // knows the queue is paused when the running jobs end and the next fetch goes out.
      const unheard = {
        ...opened.store,
        notifications: Stream.filter(opened.store.notifications, (notice) => notice._tag !== "Pause"),
      }
      const store = { ...opened, store: unheard, context: storeContext(unheard) }
      const gate = yield* Deferred.make<void>()
      const started: Array<number> = []
      const Gated = Worker.make({
        name: "Gated",
        args: Schema.Tuple([Schema.Int]),
        perform: ([n]) =>
          Effect.gen(function* () {
            started.push(n)
            if (n < 0) yield* Deferred.await(gate)
          }),
      })
      // The pause refresh (every five polls) would see the pause after a second: far later than this test.
      const node = yield* startNode(store, { ...config, pollInterval: "2 seconds" }, [Gated])
      yield* Effect.addFinalizer(() => Deferred.succeed(gate, undefined))
      yield* node.client.enqueueMany(Gated, [[-1], [-2]])
      yield* node.events.await(is("JobStarted"), 2)
      yield* node.client.enqueueMany(Gated, [[1], [2], [3]])

      yield* node.verk.pause("default")
      yield* Deferred.succeed(gate, undefined)
      yield* node.events.await(forQueue("QueuePaused", "default"), 1, { timeout: "3 seconds" })
      assert.deepStrictEqual(
        [...started].sort((x, y) => x - y),
        [-2, -1],
        "no job starts once the queue is paused",
      )
      assert.strictEqual(yield* store.store.queueSize("default"), 3)
      assert.strictEqual(yield* status(node, "default"), "paused")
    }).pipe(quietLogs),
  )

  it.live("a queue paused while all its workers are busy reports QueuePausing (status pausing) at once", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const gate = yield* Deferred.make<void>()
      const Gated = Worker.make({
        name: "Gated",
        args: Schema.Tuple([]),
        perform: () => Deferred.await(gate),
      })
      const node = yield* startNode(store, config, [Gated])
      yield* Effect.addFinalizer(() => Deferred.succeed(gate, undefined))
      yield* node.client.enqueueMany(Gated, [[], []])
      yield* node.events.await(is("JobStarted"), 2)

      yield* node.verk.pause("default")
      yield* node.events.await(forQueue("QueuePausing", "default"), 1, { timeout: "1 second" })
      assert.strictEqual(yield* status(node, "default"), "pausing")
      assert.strictEqual(node.events.count(forQueue("QueuePaused", "default")), 0)
      yield* Deferred.succeed(gate, undefined)
      yield* node.events.await(forQueue("QueuePaused", "default"))
    }).pipe(quietLogs),
  )
}

forEachStore(pausing)
