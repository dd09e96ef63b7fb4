/**
 * The store conformance suite of the limits role (`Store.LimitStore`): a rate limit's sliding
 * window (admitted up to the limit, then over until the oldest start leaves it), a concurrency
 * limit's holders (at most the limit, idempotent per holder, freed one by one or all of a node at
 * once), and the snooze of an in-progress job into `schedule` with its payload unchanged. Run on
 * every store kind by memoryStore.test.ts, redisStore.test.ts and the cluster's conformance test.
 */
import { assert, describe } from "@effect/vitest"
import { Effect } from "effect"
import { LimitStore, Store } from "../../packages/core/src/Store.ts"
import { fetched, job, roleSuite } from "./conformanceSupport.ts"

export const limitsConformance = roleSuite(
  "limits",
  LimitStore,
  ["takeRate", "acquireHold", "releaseHold", "releaseNodeHolds", "holders", "snooze", "limitUsage"],
  ({ test, liveTest, options }) => {
    describe("rate", () => {
      test(
        "admits up to the limit in a window, then says how long until the oldest start leaves it",
        Effect.gen(function* () {
          const store = yield* Store
          for (const member of ["a", "b", "c"]) {
            assert.deepStrictEqual(yield* store.takeRate("api", 3, 60_000, member), { _tag: "Admitted" })
          }
          const over = yield* store.takeRate("api", 3, 60_000, "d")
          assert.strictEqual(over._tag, "Over")
          if (over._tag === "Over") {
            assert.isAbove(over.waitMillis, 50_000)
            assert.isAtMost(over.waitMillis, 60_000)
          }
          // Being over records nothing, and another key has a window of its own.
          assert.strictEqual((yield* store.takeRate("api", 3, 60_000, "e"))._tag, "Over")
          assert.deepStrictEqual(yield* store.takeRate("api:customer-1", 3, 60_000, "a"), { _tag: "Admitted" })
        }),
      )
      liveTest(
        "the window slides: once the oldest start leaves it, the next is admitted",
        Effect.gen(function* () {
          const store = yield* Store
          assert.strictEqual((yield* store.takeRate("slide", 2, 300, "a"))._tag, "Admitted")
          assert.strictEqual((yield* store.takeRate("slide", 2, 300, "b"))._tag, "Admitted")
          const over = yield* store.takeRate("slide", 2, 300, "c")
          assert.strictEqual(over._tag, "Over")
          const wait = over._tag === "Over" ? over.waitMillis : 0
          assert.isAtMost(wait, 300)
          yield* Effect.sleep(wait + 30)
          assert.strictEqual((yield* store.takeRate("slide", 2, 300, "c"))._tag, "Admitted")
        }),
      )
    })

    describe("concurrency", () => {
      test(
        "at most the limit hold a key; a holder asking again still holds; a release frees its slot",
        Effect.gen(function* () {
          const store = yield* Store
          assert.isTrue(yield* store.acquireHold("pdf", 2, "n1", "n1:q:1"))
          assert.isTrue(yield* store.acquireHold("pdf", 2, "n2", "n2:q:1"))
          assert.isFalse(yield* store.acquireHold("pdf", 2, "n1", "n1:q:2"))
          assert.isTrue(yield* store.acquireHold("pdf", 2, "n1", "n1:q:1"))
          assert.isTrue(yield* store.acquireHold("pdf:other", 2, "n1", "n1:q:2"))
          yield* store.releaseHold("pdf", "n1:q:1")
          yield* store.releaseHold("pdf", "never")
          assert.isTrue(yield* store.acquireHold("pdf", 2, "n1", "n1:q:2"))
          const holders = [...(yield* store.holders("pdf"))].sort((a, b) => a.holder.localeCompare(b.holder))
          assert.deepStrictEqual(holders, [
            { holder: "n1:q:2", node: "n1" },
            { holder: "n2:q:1", node: "n2" },
          ])
          assert.deepStrictEqual(yield* store.holders("nothing"), [])
        }),
      )
      test(
        "releaseNodeHolds frees every hold of one node, in every key, and no other node's",
        Effect.gen(function* () {
          const store = yield* Store
          assert.isTrue(yield* store.acquireHold("k1", 3, "dead", "dead:q:1"))
          assert.isTrue(yield* store.acquireHold("k1", 3, "dead", "dead:q:2"))
          assert.isTrue(yield* store.acquireHold("k1", 3, "live", "live:q:1"))
          assert.isTrue(yield* store.acquireHold("k2", 1, "dead", "dead:q:3"))
          assert.isFalse(yield* store.acquireHold("k2", 1, "live", "live:q:2"))
          assert.strictEqual(yield* store.releaseNodeHolds("dead"), 3)
          assert.deepStrictEqual(yield* store.holders("k1"), [{ holder: "live:q:1", node: "live" }])
          assert.deepStrictEqual(yield* store.holders("k2"), [])
          assert.isTrue(yield* store.acquireHold("k2", 1, "live", "live:q:2"))
          assert.strictEqual(yield* store.releaseNodeHolds("dead"), 0)
        }),
      )
    })

    describe("usage", () => {
      test(
        "limitUsage lists the budgets in use: a rate window's starts, a concurrency limit's holders",
        Effect.gen(function* () {
          const store = yield* Store
          if (options.onRedisCluster === true) {
            const error = yield* Effect.flip(store.limitUsage)
            assert.strictEqual(error.operation, "limitUsage")
            return
          }
          assert.deepStrictEqual(yield* store.limitUsage, [])
          yield* store.takeRate("crm:acme", 5, 60_000, "a")
          yield* store.takeRate("crm:acme", 5, 60_000, "b")
          yield* store.takeRate("smtp", 5, 60_000, "a")
          yield* store.acquireHold("pdf", 4, "n1", "n1:q:1")
          yield* store.acquireHold("pdf", 4, "n2", "n2:q:1")
          yield* store.acquireHold("gone", 4, "n1", "n1:q:2")
          yield* store.releaseHold("gone", "n1:q:2")
          const usage = yield* store.limitUsage
          assert.deepStrictEqual(
            usage.map((entry) => ({ ...entry, nodes: [...entry.nodes].sort() })),
            [
              { kind: "concurrency", budget: "pdf", used: 2, nodes: ["n1", "n2"] },
              { kind: "rate", budget: "crm:acme", used: 2, nodes: [] },
              { kind: "rate", budget: "smtp", used: 1, nodes: [] },
            ],
          )
        }),
      )
    })

    describe("snooze", () => {
      test(
        "moves the job from in-progress to schedule at its time, payload unchanged",
        Effect.gen(function* () {
          const store = yield* Store
          const raw = job("s1", { queue: "mail", args: [1] })
          yield* store.enqueue("mail", [raw])
          const taken = yield* store.fetch("mail", "n1", 1)
          assert.strictEqual(taken.jobs.length, 1)
          yield* store.snooze("mail", "n1", taken.jobs[0]!.token, raw, 1_700_000_000.5)
          assert.deepStrictEqual(yield* store.inProgress("mail", "n1"), [])
          assert.deepStrictEqual(yield* store.setRange("schedule", 0, -1), [{ payload: raw, score: 1_700_000_000.5 }])
          assert.strictEqual(yield* store.setSize("retry"), 0)
          assert.strictEqual(yield* store.queueSize("mail"), 0)
          assert.deepStrictEqual(yield* store.due("schedule", 1_700_000_001, 10), [raw])
          assert.deepStrictEqual((yield* fetched(store, "mail", "n1", 1)).jobs, [])
        }),
      )
    })
  },
)
