/**
 * Acceptance: closing a runtime lets running jobs finish within the shutdown timeout, puts the
 * others back on their queue, leaves nothing in progress and flushes the stats; a node with a
 * fixed id puts back its own leftovers when it starts.
 */
import { assert, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Exit, Schema, Scope } from "effect"
import { CurrentJob } from "../../packages/core/src/CurrentJob.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { eventually, forEachStore, is, live, queueJobs, quietLogs, type StoreKind, startNode } from "./support.ts"

const shutdown = (kind: StoreKind) => {
  it.live("closing the runtime: short jobs finish and count, long jobs go back to the queue, nothing in progress", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const finished: Array<number> = []
      const Sleepy = Worker.make({
        name: "Sleepy",
        args: Schema.Tuple([Schema.Int]),
        perform: ([millis]) => Effect.sleep(millis).pipe(Effect.andThen(Effect.sync(() => finished.push(millis)))),
      })
      const scope = yield* Scope.make()
      const node = yield* startNode(
        store,
        { queues: { default: 10 }, pollInterval: "200 millis", shutdownTimeout: "300 millis" },
        [Sleepy],
        scope,
      )
      const long = yield* node.client.enqueueMany(Sleepy, [[5_000], [5_000], [5_000]])
      const short = yield* node.client.enqueueMany(Sleepy, [[20], [20], [20], [20]])
      yield* node.events.await(is("JobStarted"), 7)

      const closing = yield* Clock.currentTimeMillis
      yield* Scope.close(scope, Exit.void)
      const took = (yield* Clock.currentTimeMillis) - closing
      assert.isAtLeast(took, 250, "running jobs get the shutdown timeout")
      assert.isBelow(took, 2_000, "long jobs do not hold shutdown past its timeout")

      assert.deepStrictEqual(finished, [20, 20, 20, 20], "the short jobs finished, the long ones did not")
      assert.strictEqual(node.events.count(is("JobFinished")), short.length)
      assert.strictEqual(node.events.count(is("JobFailed")), 0, "an interrupted job is not a failure")

      const queued = yield* queueJobs(store, "default")
      assert.deepStrictEqual(
        queued.map((job) => job.jid).sort(),
        long.map((job) => job.jid).sort(),
        "the long jobs are back in queue:default",
      )
      assert.deepStrictEqual(yield* store.store.inProgress("default", node.verk.nodeId), [])
      const stats = yield* store.store.stats()
      assert.strictEqual(stats.processed, short.length, "short jobs counted as processed, flushed on close")
      assert.strictEqual(stats.failed, 0)
    }).pipe(quietLogs),
  )

  it.live("queues shut down together: two busy queues take one shutdown timeout, not two", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const Sleepy = Worker.make({
        name: "Sleepy",
        args: Schema.Tuple([Schema.Int]),
        perform: ([millis]) => Effect.sleep(millis),
      })
      const scope = yield* Scope.make()
      const node = yield* startNode(
        store,
        { queues: { default: 2, mail: 2 }, pollInterval: "200 millis", shutdownTimeout: "200 millis" },
        [Sleepy],
        scope,
      )
      yield* node.client.enqueue(Sleepy, [5_000])
      yield* node.client.enqueue(Sleepy, [5_000], { queue: "mail" })
      yield* node.events.await(is("JobStarted"), 2)
      const closing = yield* Clock.currentTimeMillis
      yield* Scope.close(scope, Exit.void)
      const took = (yield* Clock.currentTimeMillis) - closing
      assert.isAtLeast(took, 150)
      assert.isBelow(took, 380, "each queue does not wait for the previous one's timeout")
      assert.strictEqual(yield* store.store.queueSize("default"), 1)
      assert.strictEqual(yield* store.store.queueSize("mail"), 1)
      assert.deepStrictEqual(yield* store.store.inProgress("mail", node.verk.nodeId), [])
    }).pipe(quietLogs),
  )

  it.live("a node with a fixed id requeues its own leftovers when it starts, and they run", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const leftover = JSON.stringify({
        class: "Count",
        args: [7],
        jid: "0123456789abcdef01234567",
        queue: "default",
        retry: true,
        created_at: 1_700_000_000.5,
        enqueued_at: 1_700_000_000.5,
      })
      yield* store.store.enqueue("default", [leftover])
      const { jobs } = yield* store.store.fetch("default", "fixed-1", 1)
      assert.deepStrictEqual(
        jobs.map(({ raw }) => raw),
        [leftover],
      )
      assert.deepStrictEqual(yield* store.store.inProgress("default", "fixed-1"), jobs)
      assert.strictEqual(yield* store.store.queueSize("default"), 0)

      const performed = yield* Deferred.make<{ readonly jid: string; readonly n: number }>()
      const Count = Worker.make({
        name: "Count",
        args: Schema.Tuple([Schema.Int]),
        perform: ([n]) => Effect.flatMap(CurrentJob, (job) => Deferred.succeed(performed, { jid: job.jid, n })),
      })
      const node = yield* startNode(
        store,
        { nodeId: "fixed-1", queues: { default: 2 }, pollInterval: "200 millis", shutdownTimeout: "200 millis" },
        [Count],
      )
      assert.strictEqual(node.verk.nodeId, "fixed-1")
      const seen = yield* live(Deferred.await(performed).pipe(Effect.timeout("3 seconds")))
      assert.deepStrictEqual(seen, { jid: "0123456789abcdef01234567", n: 7 })
      yield* eventually(
        "the leftover is acked",
        Effect.map(store.store.inProgress("default", "fixed-1"), (jobs) => jobs.length === 0),
      )
      assert.strictEqual(yield* store.store.queueSize("default"), 0)
    }).pipe(quietLogs),
  )
}

forEachStore(shutdown)
