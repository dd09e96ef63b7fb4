/**
 * Acceptance: shared pools. A pool of N slots serving several queues fills its slots from them in
 * strict order (no job of a later queue starts while one of an earlier queue waits) or by weights
 * (Sidekiq's: an order drawn per fetch, so that starts follow the weights); pause stays per queue
 * (a paused queue's jobs finish while the pool's other queues go on). On every store kind.
 */
import { assert, it } from "@effect/vitest"
import { Deferred, Effect, Random, Schema } from "effect"
import * as Worker from "../../packages/core/src/Worker.ts"
import {
  eventually,
  forEachStore,
  forJid,
  forQueue,
  is,
  quietLogs,
  type StoreKind,
  startNode,
  type TestStore,
} from "./support.ts"

const base = { pollInterval: "200 millis", shutdownTimeout: "200 millis", queues: {} } as const

/** Workers on `critical` and `default` that note each start; `onStart` runs first in perform. */
const workers = (onStart: (queue: string) => Effect.Effect<void>, perform: Effect.Effect<void> = Effect.void) =>
  [
    Worker.make({
      name: "Critical",
      queue: "critical",
      args: Schema.Tuple([Schema.Int]),
      perform: () => Effect.andThen(onStart("critical"), perform),
    }),
    Worker.make({
      name: "Default",
      queue: "default",
      args: Schema.Tuple([Schema.Int]),
      perform: () => Effect.andThen(onStart("default"), perform),
    }),
  ] as const

/** Fills both queues with `count` jobs each through a node that serves no queue. */
const fill = Effect.fnUntraced(function* (
  store: TestStore,
  [Critical, Default]: ReturnType<typeof workers>,
  count: number,
) {
  const producer = yield* startNode(store, base, [Critical, Default])
  const args = Array.from({ length: count }, (_, i) => [i] as const)
  yield* producer.client.enqueueMany(Critical, args)
  yield* producer.client.enqueueMany(Default, args)
  assert.strictEqual(yield* store.store.queueSize("critical"), count)
  assert.strictEqual(yield* store.store.queueSize("default"), count)
})

const suite = (kind: StoreKind) => {
  it.live("a strict pool serving critical, default starts no default job while a critical job waits", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const started: Array<string> = []
      // What the critical queue held when each default job started.
      const criticalWaiting: Array<number> = []
      const pair = workers((queue) =>
        Effect.gen(function* () {
          started.push(queue)
          if (queue === "default") criticalWaiting.push(yield* Effect.orDie(store.store.queueSize("critical")))
        }),
      )
      yield* fill(store, pair, 30)
      const node = yield* startNode(store, { ...base, pools: [{ queues: ["critical", "default"], concurrency: 3 }] }, [
        ...pair,
      ])
      // Each default job reads the critical queue after it is counted as started: wait for both.
      yield* eventually(
        "all 60 jobs started, and each default job's read done",
        Effect.sync(() => started.length === 60 && criticalWaiting.length === 30),
        "10 seconds",
      )
      assert.deepStrictEqual(started, [...Array(30).fill("critical"), ...Array(30).fill("default")])
      assert.deepStrictEqual(criticalWaiting, Array(30).fill(0), "no critical job waited when a default job started")
      const [pool] = yield* node.verk.poolStats
      assert.deepStrictEqual(
        { ...pool, running: 0 },
        {
          pool: "critical>default",
          queues: ["critical", "default"],
          weights: undefined,
          concurrency: 3,
          running: 0,
        },
      )
      assert.deepStrictEqual(
        (yield* node.verk.queueStats).map(({ queue, pool, concurrency }) => ({ queue, pool, concurrency })),
        [
          { queue: "critical", pool: "critical>default", concurrency: 3 },
          { queue: "default", pool: "critical>default", concurrency: 3 },
        ],
      )
    }).pipe(quietLogs),
  )

  it.live("the heartbeat shows each pool as a Sidekiq capsule: its slots, mode and weights", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const node = yield* startNode(
        store,
        {
          ...base,
          pools: [
            { queues: ["critical", "default"], concurrency: 3 },
            { queues: { reports: 3, exports: 1 }, concurrency: 2 },
            { queues: { a: 1, b: 1 }, concurrency: 1 },
          ],
        },
        [...workers(() => Effect.void)],
      )
      // The node beats as it starts, before its pools run: wait for a beat that has them.
      const infoNow = Effect.map(store.store.processes, (entries) => {
        const entry = entries.find(({ identity }) => identity === node.verk.nodeId)
        return entry === undefined
          ? undefined
          : (JSON.parse(entry.info) as { capsules: unknown; weights: unknown; queues: ReadonlyArray<string> })
      })
      yield* eventually(
        "a heartbeat with the three pools",
        Effect.map(infoNow, (info) => info?.queues.length === 6),
      )
      const info = (yield* infoNow)!
      assert.deepStrictEqual(info.capsules, {
        "critical>default": { concurrency: 3, mode: "strict", weights: { critical: 0, default: 0 } },
        "reports*3+exports*1": { concurrency: 2, mode: "weighted", weights: { reports: 3, exports: 1 } },
        "a*1+b*1": { concurrency: 1, mode: "random", weights: { a: 1, b: 1 } },
      })
      assert.deepStrictEqual(info.weights, [
        { critical: 0, default: 0 },
        { reports: 3, exports: 1 },
        { a: 1, b: 1 },
      ])
      assert.deepStrictEqual(info.queues, ["critical", "default", "reports", "exports", "a", "b"])
    }).pipe(quietLogs),
  )

  it.live("weights 3:1 give 3:1 starts over 4,000 jobs, within 10%", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const counts = { critical: 0, default: 0 }
      const done = yield* Deferred.make<void>()
      const pair = workers((queue) =>
        Effect.suspend(() => {
          const total = counts.critical + counts.default
          if (total >= 4000) return Effect.void
          counts[queue as keyof typeof counts]++
          return total + 1 === 4000 ? Deferred.succeed(done, undefined) : Effect.void
        }),
      )
      // Both queues hold more than 4,000 jobs' worth of their share throughout.
      yield* fill(store, pair, 4000)
      // One slot: every fetch takes one job from the first queue of an order drawn by weight. A
      // fixed seed makes the draws the same on every run.
      yield* startNode(store, { ...base, pools: [{ queues: { critical: 3, default: 1 }, concurrency: 1 }] }, [
        ...pair,
      ]).pipe(Random.withSeed("pools"))
      yield* Deferred.await(done).pipe(Effect.timeout("60 seconds"))
      const ratio = counts.critical / counts.default
      assert.isAtLeast(ratio, 2.7, `${counts.critical} critical to ${counts.default} default starts`)
      assert.isAtMost(ratio, 3.3, `${counts.critical} critical to ${counts.default} default starts`)
    }).pipe(quietLogs),
  )

  it.live("pausing one queue of a shared pool: its running job finishes, the other queue keeps going", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const gate = yield* Deferred.make<void>()
      const pair = workers(() => Effect.void, Effect.void)
      const [Critical, Default] = pair
      const Gated = Worker.make({
        name: "Gated",
        queue: "critical",
        args: Schema.Tuple([]),
        perform: () => Deferred.await(gate),
      })
      const node = yield* startNode(store, { ...base, pools: [{ queues: ["critical", "default"], concurrency: 3 }] }, [
        Critical,
        Default,
        Gated,
      ])
      const gated = yield* node.client.enqueue(Gated, [])
      yield* node.events.await(forJid("JobStarted", gated.jid))
      yield* node.verk.pause("critical")
      yield* node.events.await(forQueue("QueuePausing", "critical"))
      // While critical is pausing (its job still runs), default's jobs start and finish.
      const paused = yield* node.client.enqueue(Critical, [1])
      const jobs = yield* node.client.enqueueMany(Default, [[1], [2], [3], [4]])
      yield* node.events.await(
        is("JobFinished", (event) => event.queue === "default"),
        4,
      )
      assert.strictEqual(node.events.count(forQueue("QueuePaused", "critical")), 0, "still pausing: its job runs")
      assert.strictEqual(node.events.count(forJid("JobStarted", paused.jid)), 0, "a paused queue's job waits")
      assert.strictEqual(jobs.length, 4)
      const status = (queue: string) =>
        Effect.map(node.verk.queueStats, (stats) => stats.find((stat) => stat.queue === queue)?.status)
      assert.strictEqual(yield* status("critical"), "pausing")

      yield* Deferred.succeed(gate, undefined)
      yield* node.events.await(forQueue("QueuePaused", "critical"))
      assert.strictEqual(yield* status("critical"), "paused")
      assert.strictEqual(node.events.count(forQueue("QueuePausing", "default")), 0, "default was never paused")
      assert.strictEqual(yield* store.store.queueSize("critical"), 1)

      yield* node.verk.resume("critical")
      yield* node.events.await(forJid("JobFinished", paused.jid))
    }).pipe(quietLogs),
  )

  it.live(
    "addPool starts a shared pool at run time; a queue served already is refused; removeQueue stops its pool",
    () =>
      Effect.gen(function* () {
        const store = yield* kind.open
        const pair = workers(() => Effect.void)
        const [Critical, Default] = pair
        const node = yield* startNode(store, { ...base, queues: { mail: 1 } }, [...pair])
        yield* node.verk.addPool({ name: "urgent", queues: { critical: 2, default: 1 }, concurrency: 2 })
        yield* node.events.await(forQueue("QueueRunning", "default"))
        const refused = yield* Effect.flip(node.verk.addPool({ queues: ["low", "mail"], concurrency: 1 }))
        assert.strictEqual(refused._tag, "InvalidSetting")
        assert.include(refused.message, 'queue mail is served by pool "mail"')
        const renamed = yield* Effect.flip(node.verk.addPool({ name: "urgent", queues: ["low"], concurrency: 1 }))
        assert.include(renamed.message, 'a pool named "urgent" runs already')
        yield* node.verk.addPool({ name: "urgent", queues: { critical: 2, default: 1 }, concurrency: 2 })
        yield* node.verk.addQueue("default", 9)
        assert.deepStrictEqual(
          (yield* node.verk.poolStats).map(({ pool, weights, concurrency }) => ({ pool, weights, concurrency })),
          [
            { pool: "mail", weights: undefined, concurrency: 1 },
            { pool: "urgent", weights: [2, 1], concurrency: 2 },
          ],
          "the same pool again, or a queue it serves, changes nothing",
        )
        const job = yield* node.client.enqueue(Critical, [1])
        yield* node.events.await(forJid("JobFinished", job.jid))

        yield* node.verk.removeQueue("default")
        yield* eventually(
          "the pool serving default stopped, with critical",
          Effect.map(node.verk.poolStats, (pools) => pools.length === 1),
        )
        assert.deepStrictEqual(
          (yield* node.verk.queueStats).map(({ queue }) => queue),
          ["mail"],
        )
        const waiting = yield* node.client.enqueue(Default, [2])
        // A fence: a job pushed to mail after it runs, while the default job still waits.
        const fence = yield* node.client.enqueue(Default, [3], { queue: "mail" })
        yield* node.events.await(forJid("JobFinished", fence.jid))
        assert.strictEqual(node.events.count(forJid("JobStarted", waiting.jid)), 0)
        assert.strictEqual(yield* store.store.queueSize("default"), 1, "nothing serves default now")
      }).pipe(quietLogs),
  )
}

forEachStore(suite)
