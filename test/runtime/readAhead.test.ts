/**
 * Reading ahead (Pool.ts) on every store kind: a pool of short runs takes jobs beyond its free
 * slots, in progress in the store. A pause puts those back in the queue before any starts, and a
 * shutdown puts them back with the node's other unfinished jobs: none is lost, none runs early.
 */
import { assert, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Schema, Scope } from "effect"
import * as Worker from "../../packages/core/src/Worker.ts"
import {
  eventually,
  forEachStore,
  forJid,
  forQueue,
  is,
  queueJobs,
  quietLogs,
  type StoreKind,
  startNode,
  type TestNode,
  type TestStore,
} from "./support.ts"

/** A worker whose `hold` job runs until `gate` opens; any other ends at once. */
const gatedWorker = (gate: Deferred.Deferred<void>) =>
  Worker.make({
    name: "Gated",
    args: Schema.Tuple([Schema.String]),
    perform: ([key]) => (key === "hold" ? Deferred.await(gate) : Effect.void),
  })

/**
 * On a one-slot node: ten short runs (so the pool reads ahead), then `hold` in the slot and `next`
 * read ahead behind it; returns `next`'s jid once both are in progress.
 */
const holdAndReadAhead = Effect.fnUntraced(function* (
  store: TestStore,
  node: TestNode,
  Gated: ReturnType<typeof gatedWorker>,
) {
  yield* node.client.enqueueMany(
    Gated,
    Array.from({ length: 10 }, (_, index) => [`warm${index}`] as const),
  )
  yield* node.events.await(is("JobFinished"), 10)
  const hold = yield* node.client.enqueue(Gated, ["hold"])
  yield* node.events.await(forJid("JobStarted", hold.jid))
  const next = yield* node.client.enqueue(Gated, ["next"])
  yield* eventually(
    "next read ahead: two jobs in progress",
    Effect.map(store.store.inProgress("default", node.verk.nodeId), (jobs) => jobs.length === 2),
  )
  assert.strictEqual(yield* store.store.queueSize("default"), 0)
  return { hold: hold.jid, next: next.jid }
})

const readAhead = (kind: StoreKind) => {
  it.live("a pause puts the jobs read ahead back in the queue; none starts until the resume", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const gate = yield* Deferred.make<void>()
      yield* Effect.addFinalizer(() => Deferred.succeed(gate, undefined))
      const Gated = gatedWorker(gate)
      const node = yield* startNode(store, { queues: { default: 1 }, pollInterval: "100 millis" }, [Gated])
      const { hold, next } = yield* holdAndReadAhead(store, node, Gated)

      yield* node.verk.pause("default")
      yield* node.events.await(forQueue("QueuePausing", "default"))
      yield* eventually(
        "next back in the queue",
        Effect.map(store.store.queueSize("default"), (size) => size === 1),
      )
      yield* Deferred.succeed(gate, undefined)
      yield* node.events.await(forJid("JobFinished", hold))
      // The fence: the queue reports itself paused only once its slot is free, where `next` would
      // have started had it stayed read ahead.
      yield* node.events.await(forQueue("QueuePaused", "default"))
      assert.strictEqual(node.events.count(forJid("JobStarted", next)), 0)
      assert.deepStrictEqual(
        (yield* queueJobs(store, "default")).map((job) => job.jid),
        [next],
      )
      assert.deepStrictEqual(yield* store.store.inProgress("default", node.verk.nodeId), [])

      yield* node.verk.resume("default")
      yield* node.events.await(forJid("JobFinished", next))
      assert.strictEqual(node.events.count(forJid("JobStarted", next)), 1)
    }).pipe(quietLogs),
  )

  it.live("a shutdown puts the jobs read ahead back in the queue with the interrupted ones", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const gate = yield* Deferred.make<void>()
      yield* Effect.addFinalizer(() => Deferred.succeed(gate, undefined))
      const Gated = gatedWorker(gate)
      const scope = yield* Scope.make()
      const node = yield* startNode(
        store,
        { queues: { default: 1 }, pollInterval: "100 millis", shutdownTimeout: "100 millis" },
        [Gated],
        scope,
      )
      const { hold, next } = yield* holdAndReadAhead(store, node, Gated)

      yield* Scope.close(scope, Exit.void)
      assert.sameMembers(
        (yield* queueJobs(store, "default")).map((job) => job.jid),
        [hold, next],
      )
      assert.deepStrictEqual(yield* store.store.inProgress("default", node.verk.nodeId), [])
      assert.strictEqual(node.events.count(forJid("JobStarted", next)), 0, "next never started")
    }).pipe(quietLogs),
  )
}

forEachStore(readAhead)
