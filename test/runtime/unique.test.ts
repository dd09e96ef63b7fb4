/**
 * Acceptance: unique jobs and debounce on a running node (Unique.ts). A lock is held while its job
 * waits and runs, named to a second enqueue (`Duplicate` with the first jid), visible in
 * inspection, and free again once the job succeeds or goes to the dead set (`until: "success"`),
 * once it starts (`until: "start"`), or at its ttl. Ten debounced enqueues run once, with the last
 * args, after the last delay. On both stores (the ttl under TestClock: the in-memory store's).
 */
import { assert, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as Client from "../../packages/core/src/Client.ts"
import * as Inspection from "../../packages/core/src/Inspection.ts"
import * as MemoryStore from "../../packages/core/src/MemoryStore.ts"
import type * as Unique from "../../packages/core/src/Unique.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { eventually, forEachStore, forJid, quietLogs, type StoreKind, setEntries, startNode, T0 } from "./support.ts"

const Args = Schema.Tuple([Schema.String, Schema.Number])

const holderOf = <A, E>(worker: Worker.Worker<A, E, never>, args: A) =>
  Effect.map(Inspection.UniqueLocks.of(worker, args), (lock) => lock?.jid)

const jidOf = (result: Unique.Result): string => (result._tag === "Duplicate" ? result.jid : result.job.jid)

const unique = (kind: StoreKind) => {
  it.live("a second enqueue while the first job runs is a Duplicate naming it; after success the lock is free", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const gate = yield* Deferred.make<void>()
      const Report = Worker.make({
        name: "Report",
        args: Args,
        perform: () => Deferred.await(gate),
      })
      const node = yield* startNode(store, { queues: { default: 2 } }, [Report])
      const first = yield* node.client.enqueueUnique(Report, ["acme", 1])
      assert.strictEqual(first._tag, "Enqueued")
      yield* node.events.await(forJid("JobStarted", jidOf(first)))
      const second = yield* node.client.enqueueUnique(Report, ["acme", 1])
      assert.deepStrictEqual(second, { _tag: "Duplicate", jid: jidOf(first) })
      // Other args are another key.
      assert.strictEqual((yield* node.client.enqueueUnique(Report, ["acme", 2]))._tag, "Enqueued")
      const inspect = (args: typeof Args.Type) => Effect.provide(holderOf(Report, args), store.context)
      assert.strictEqual(yield* inspect(["acme", 1]), jidOf(first))
      yield* Deferred.succeed(gate, undefined)
      yield* node.events.await(forJid("JobFinished", jidOf(first)))
      assert.isUndefined(yield* inspect(["acme", 1]), "free after success")
      const third = yield* node.client.enqueueUnique(Report, ["acme", 1])
      assert.strictEqual(third._tag, "Enqueued")
      assert.notStrictEqual(jidOf(third), jidOf(first))
    }).pipe(quietLogs),
  )

  it.live("the lock is free after the job goes to the dead set", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const Doomed = Worker.make({
        name: "Doomed",
        args: Args,
        retry: false,
        perform: () => Effect.fail("no"),
      })
      const node = yield* startNode(store, { queues: { default: 2 } }, [Doomed])
      const first = yield* node.client.enqueueUnique(Doomed, ["x", 1], { unique: { ttl: "1 hour" } })
      yield* node.events.await(forJid("JobDead", jidOf(first)))
      const holder = Effect.provide(holderOf(Doomed, ["x", 1]), store.context)
      yield* eventually(
        "the lock is freed after the job died",
        Effect.map(holder, (jid) => jid === undefined),
      )
      assert.strictEqual(yield* store.store.setSize("dead"), 1)
      assert.strictEqual((yield* node.client.enqueueUnique(Doomed, ["x", 1]))._tag, "Enqueued")
    }).pipe(quietLogs),
  )

  it.live("until start: the lock is free as soon as the job starts; a key function names the lock", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const gate = yield* Deferred.make<void>()
      const Sync = Worker.make({
        name: "Sync",
        args: Args,
        unique: { until: "start", key: ([account]) => account },
        perform: () => Deferred.await(gate),
      })
      const node = yield* startNode(store, { queues: { default: 2 } }, [Sync])
      const first = yield* node.client.enqueueUnique(Sync, ["acme", 1])
      yield* node.events.await(forJid("JobStarted", jidOf(first)))
      // The key is the account alone: other numbers are the same job.
      const second = yield* node.client.enqueueUnique(Sync, ["acme", 7])
      assert.strictEqual(second._tag, "Enqueued", "free once the first started")
      assert.notStrictEqual(jidOf(second), jidOf(first))
      yield* Deferred.succeed(gate, undefined)
      yield* node.events.await(forJid("JobFinished", jidOf(second)))
    }).pipe(quietLogs),
  )

  it.effect("debounce: 10 enqueues 100 ms apart run once, with the last args, after the last delay", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const store = yield* kind.open
      const runs: Array<{ readonly args: typeof Args.Type; readonly at: number }> = []
      const Index = Worker.make({
        name: "Index",
        args: Args,
        unique: { debounce: "1 second" },
        perform: (args) =>
          Effect.map(Clock.currentTimeMillis, (at) => {
            runs.push({ args, at })
          }),
      })
      const node = yield* startNode(store, { queues: { default: 2 }, pollInterval: "5 seconds" }, [Index])
      const results: Array<Unique.Result> = []
      for (let k = 1; k <= 10; k++) {
        if (k > 1) yield* TestClock.adjust("100 millis")
        results.push(yield* node.client.enqueueUnique(Index, ["doc", k], { unique: { key: ([doc]) => doc } }))
        yield* store.settle
      }
      const jid = jidOf(results[0]!)
      assert.strictEqual(results[0]!._tag, "Enqueued")
      for (const result of results.slice(1)) assert.deepStrictEqual([result._tag, jidOf(result)], ["Replaced", jid])
      const lastEnqueue = T0 + 900
      const [waiting, ...more] = yield* setEntries(store, "schedule")
      assert.deepStrictEqual(more, [])
      assert.deepStrictEqual(waiting?.job.args, ["doc", 10])
      assert.strictEqual(waiting?.job.jid, jid)
      assert.closeTo(waiting?.score ?? 0, (lastEnqueue + 1000) / 1000, 1e-6)
      // Just before the last delay is over, nothing has run (the job still waits, the fence).
      yield* TestClock.adjust("999 millis")
      yield* store.settle
      yield* store.settle
      assert.deepStrictEqual(runs, [])
      assert.strictEqual(yield* store.store.setSize("schedule"), 1)
      yield* TestClock.adjust("5 seconds")
      yield* node.events.await(forJid("JobFinished", jid), 1, { timeout: "3 seconds" })
      assert.strictEqual(runs.length, 1)
      assert.deepStrictEqual(runs[0]!.args, ["doc", 10])
      assert.isAtLeast(runs[0]!.at, lastEnqueue + 1000)
      assert.strictEqual(yield* store.store.setSize("schedule"), 0)
      assert.strictEqual(node.events.count(forJid("JobStarted", jid)), 1)
    }).pipe(quietLogs),
  )
}

forEachStore(unique)

it.effect("MemoryStore: a lock lapses at its ttl under TestClock, whatever happened to its job", () =>
  Effect.gen(function* () {
    yield* TestClock.setTime(T0)
    const Mail = Worker.make({ name: "Mail", args: Args, perform: () => Effect.void })
    const first = yield* Client.enqueueUnique(Mail, ["a", 1], { unique: { ttl: "1 minute" } })
    assert.strictEqual(first._tag, "Enqueued")
    yield* TestClock.adjust("59 seconds")
    assert.deepStrictEqual(yield* Client.enqueueUnique(Mail, ["a", 1]), { _tag: "Duplicate", jid: jidOf(first) })
    const lock = yield* Inspection.UniqueLocks.of(Mail, ["a", 1])
    assert.strictEqual(lock?.jid, jidOf(first))
    assert.strictEqual(lock?.ttlMillis, 1000)
    yield* TestClock.adjust("1 second")
    assert.isUndefined(yield* Inspection.UniqueLocks.of(Mail, ["a", 1]))
    assert.strictEqual((yield* Client.enqueueUnique(Mail, ["a", 1]))._tag, "Enqueued")
  }).pipe(Effect.provide(Client.layer.pipe(Layer.provideMerge(Layer.fresh(MemoryStore.layer))))),
)
