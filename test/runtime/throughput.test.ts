/**
 * Acceptance: every job runs exactly once, a queue never runs more jobs at once than its size
 * (and does reach it), and a queue of size 1 runs jobs in the order they were enqueued.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { CurrentJob } from "../../packages/core/src/CurrentJob.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { forEachStore, is, quietLogs, type StoreKind, setEntries, startNode } from "./support.ts"

const Jobs = 1_000
const Concurrency = 10

const throughput = (kind: StoreKind) => {
  it.live(`${Jobs} jobs each run exactly once, at most ${Concurrency} at a time, and ${Concurrency} are reached`, () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const runsByArg = new Map<number, number>()
      const jids = new Set<string>()
      let active = 0
      let peak = 0
      const Work = Worker.make({
        name: "Work",
        args: Schema.Tuple([Schema.Int]),
        perform: ([n]) =>
          Effect.gen(function* () {
            const current = yield* CurrentJob
            jids.add(current.jid)
            runsByArg.set(n, (runsByArg.get(n) ?? 0) + 1)
            active++
            peak = Math.max(peak, active)
            yield* Effect.sleep("1 millis").pipe(Effect.ensuring(Effect.sync(() => active--)))
          }),
      })
      const node = yield* startNode(
        store,
        { queues: { default: Concurrency }, pollInterval: "200 millis", shutdownTimeout: "1 second" },
        [Work],
      )
      const jobs = yield* node.client.enqueueMany(
        Work,
        Array.from({ length: Jobs }, (_, n) => [n] as const),
      )
      yield* node.events.await(is("JobFinished"), Jobs, { timeout: "8 seconds" })

      assert.strictEqual(runsByArg.size, Jobs, "every arg was performed")
      const twice = [...runsByArg].filter(([, runs]) => runs !== 1)
      assert.deepStrictEqual(twice, [], "args performed more than once")
      assert.deepStrictEqual(
        [...jids].sort(),
        jobs.map((job) => job.jid).sort(),
        "the performed jids are the enqueued ones",
      )
      assert.isAtMost(peak, Concurrency, "never more jobs at once than the queue's size")
      assert.strictEqual(peak, Concurrency, "the queue's size is actually reached")
      assert.strictEqual(node.events.count(is("JobStarted")), Jobs)
      assert.strictEqual(node.events.count(is("JobFailed")), 0)
      assert.strictEqual(yield* store.store.queueSize("default"), 0)
      assert.deepStrictEqual(yield* store.store.inProgress("default", node.verk.nodeId), [])
      assert.deepStrictEqual(yield* setEntries(store, "retry"), [])
      assert.deepStrictEqual(yield* setEntries(store, "dead"), [])
    }).pipe(quietLogs),
  )

  it.live("a queue of size 1 runs jobs in the order they were enqueued (FIFO)", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const order: Array<number> = []
      const Ordered = Worker.make({
        name: "Ordered",
        args: Schema.Tuple([Schema.Int]),
        perform: ([n]) => Effect.sync(() => order.push(n)),
      })
      const node = yield* startNode(store, { queues: { default: 1 }, pollInterval: "200 millis" }, [Ordered])
      // One push per job, while the runtime is already fetching.
      for (let n = 0; n < 50; n++) yield* node.client.enqueue(Ordered, [n])
      // And a batch, whose order must hold too.
      yield* node.client.enqueueMany(
        Ordered,
        Array.from({ length: 50 }, (_, n) => [50 + n] as const),
      )
      yield* node.events.await(is("JobFinished"), 100)
      assert.deepStrictEqual(
        order,
        Array.from({ length: 100 }, (_, n) => n),
      )
    }).pipe(quietLogs),
  )
}

forEachStore(throughput)
