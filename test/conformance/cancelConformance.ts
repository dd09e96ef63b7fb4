/**
 * The store conformance suite of the cancel role (`Store.CancelStore`): markers (new or not,
 * expiry), the `Cancel` notification, and `Cancel.cancel` over the whole store: a queued, scheduled
 * or retrying job is removed, a job in a node's in-progress entries is reported running there, a
 * finished one says so, and cancelling twice is harmless. Run on every store kind by
 * memoryStore.test.ts, redisStore.test.ts and the cluster's conformance test.
 */
import { assert, describe } from "@effect/vitest"
import { Effect } from "effect"
import * as Cancel from "../../packages/core/src/Cancel.ts"
import { CancelStore, Store } from "../../packages/core/src/Store.ts"
import { fetched, job, listen, NoLimits, roleSuite } from "./conformanceSupport.ts"

export const cancelConformance = roleSuite(
  "cancel",
  CancelStore,
  ["markCancelled", "forgetCancelled", "cancelledJids"],
  ({ test, liveTest }) => {
    describe("markers", () => {
      test(
        "markCancelled says whether the marker is new; cancelledJids lists the live ones",
        Effect.gen(function* () {
          const store = yield* Store
          assert.isTrue(yield* store.markCancelled("j1", 1_000, 5_000))
          assert.isFalse(yield* store.markCancelled("j1", 1_000, 5_000))
          assert.isTrue(yield* store.markCancelled("j2", 2_000, 10_000))
          assert.deepStrictEqual([...(yield* store.cancelledJids(3_000))].sort(), ["j1", "j2"])
          // j1's marker expired at 5 s: it is gone, and cancelling it again is new.
          assert.deepStrictEqual([...(yield* store.cancelledJids(6_000))], ["j2"])
          assert.isTrue(yield* store.markCancelled("j1", 6_000, 20_000))
          assert.deepStrictEqual([...(yield* store.cancelledJids(11_000))], ["j1"])
          yield* store.forgetCancelled("j1")
          yield* store.forgetCancelled("never")
          assert.deepStrictEqual([...(yield* store.cancelledJids(11_000))], [])
          assert.isTrue(yield* store.markCancelled("j1", 11_000, 20_000))
        }),
      )
      liveTest(
        "markCancelled publishes Cancel with the jid",
        Effect.gen(function* () {
          const store = yield* Store
          const { next } = yield* listen
          yield* store.markCancelled("j 1", 0, 1_000)
          assert.deepStrictEqual(yield* next(1), [{ _tag: "Cancel", jid: "j 1" }])
        }),
      )
    })

    describe("Cancel.cancel", () => {
      test(
        "a queued job is removed from its queue; cancelling again says it was",
        Effect.gen(function* () {
          const store = yield* Store
          const raw = job("q1", { queue: "mail" })
          yield* store.enqueue("mail", [job("other", { queue: "mail" }), raw])
          const result = yield* Cancel.cancel("q1")
          assert.deepStrictEqual(result, { _tag: "Removed", jid: "q1", from: "queue", queue: "mail" })
          assert.deepStrictEqual(yield* store.queueRange("mail", 0, -1), [job("other", { queue: "mail" })])
          assert.deepStrictEqual(yield* Cancel.cancel("q1"), { _tag: "AlreadyCancelled", jid: "q1" })
          assert.deepStrictEqual([...(yield* store.cancelledJids(0))], ["q1"])
        }),
      )
      test(
        "a scheduled and a retrying job are removed from their sets",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("schedule", [{ payload: job("s1", { queue: "mail" }), score: 100 }])
          yield* store.addScheduled("retry", [{ payload: job("r1", { queue: "mail", retry_count: 1 }), score: 50 }])
          assert.deepStrictEqual(yield* Cancel.cancel("s1"), {
            _tag: "Removed",
            jid: "s1",
            from: "schedule",
            queue: "mail",
          })
          assert.deepStrictEqual(yield* Cancel.cancel("r1"), {
            _tag: "Removed",
            jid: "r1",
            from: "retry",
            queue: "mail",
          })
          assert.strictEqual(yield* store.setSize("schedule"), 0)
          assert.strictEqual(yield* store.setSize("retry"), 0)
          assert.deepStrictEqual(yield* Cancel.cancel("s1"), { _tag: "AlreadyCancelled", jid: "s1" })
        }),
      )
      test(
        "a job in a node's in-progress entries is reported running there, and stays for that node",
        Effect.gen(function* () {
          const store = yield* Store
          const raw = job("p1", { queue: "mail" })
          yield* store.enqueue("mail", [raw])
          yield* fetched(store, "mail", "node-a", 1)
          assert.deepStrictEqual(yield* Cancel.cancel("p1"), {
            _tag: "Interrupted",
            jid: "p1",
            node: "node-a",
            alive: false,
          })
          // The node writes its outcome (it holds the job): the cancel does not take it away.
          assert.deepStrictEqual(
            (yield* store.inProgress("mail", "node-a")).map((held) => held.raw),
            [raw],
          )
          assert.deepStrictEqual(yield* Cancel.cancel("p1"), { _tag: "AlreadyCancelled", jid: "p1" })
        }),
      )
      test(
        "a finished job says so: dead, or not there at all",
        Effect.gen(function* () {
          const store = yield* Store
          const raw = job("d1", { queue: "mail" })
          yield* store.enqueue("mail", [raw])
          const [held] = (yield* store.fetch("mail", "node-a", 1)).jobs
          yield* store.kill("mail", "node-a", held!.token, raw, 10, NoLimits)
          assert.deepStrictEqual(yield* Cancel.cancel("d1"), { _tag: "Finished", jid: "d1", dead: true })
          // Its marker is forgotten: retried from the dead set, it runs.
          assert.deepStrictEqual([...(yield* store.cancelledJids(0))], [])
          assert.deepStrictEqual(yield* Cancel.cancel("d1"), { _tag: "Finished", jid: "d1", dead: true })
          assert.deepStrictEqual(yield* store.setRange("dead", 0, -1), [{ payload: raw, score: 10 }])
          assert.deepStrictEqual(yield* Cancel.cancel("gone"), { _tag: "Finished", jid: "gone", dead: false })
          assert.deepStrictEqual(yield* Cancel.cancel("gone"), { _tag: "AlreadyCancelled", jid: "gone" })
        }),
      )
    })
  },
)
