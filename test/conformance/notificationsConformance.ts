/**
 * The store conformance suite of the notifications and pause role (`Store.NotificationStore`):
 * notifications and pause state: setPaused and pausedQueues, and what every write publishes. Run on
 * every store kind by memoryStore.test.ts, redisStore.test.ts and the cluster's conformance test.
 */
import { assert, describe } from "@effect/vitest"
import { Effect } from "effect"

import { type Notification, NotificationStore, Store } from "../../packages/core/src/Store.ts"
import {
  beat,
  fetched,
  listen,
  NoLimits,
  recovered,
  recoverRaws,
  roleSuite,
  show,
  sorted,
  tokenOf,
  tokensOf,
} from "./conformanceSupport.ts"

export const notificationsConformance = roleSuite(
  "notifications and pause",
  NotificationStore,
  ["notifications", "setPaused", "pausedQueues"],
  ({ test, liveTest }) => {
    describe("paused queues", () => {
      test(
        "setPaused adds and removes, pausedQueues reads",
        Effect.gen(function* () {
          const store = yield* Store
          assert.deepStrictEqual([...(yield* store.pausedQueues)], [])
          yield* store.setPaused("a", true)
          yield* store.setPaused("b", true)
          yield* store.setPaused("b", true)
          assert.deepStrictEqual([...(yield* store.pausedQueues)].sort(), ["a", "b"])
          yield* store.setPaused("a", false)
          yield* store.setPaused("never", false)
          assert.deepStrictEqual([...(yield* store.pausedQueues)], ["b"])
        }),
      )
    })

    describe("notifications", () => {
      const work = (queue: string): Notification => ({ _tag: "Work", queue })
      const pause = (queue: string): Notification => ({ _tag: "Pause", queue })
      const scheduled: Notification = { _tag: "Scheduled" }

      liveTest(
        "enqueue publishes Work for its queue; an empty enqueue publishes nothing",
        Effect.gen(function* () {
          const store = yield* Store
          const { next, quiet } = yield* listen
          yield* store.enqueue("q1", ["a", "b"])
          yield* store.enqueue("q2", ["c"])
          assert.deepStrictEqual(yield* next(2), [work("q1"), work("q2")])
          yield* store.enqueue("q3", [])
          yield* quiet
        }),
      )

      liveTest(
        "addScheduled publishes Scheduled, for both sets",
        Effect.gen(function* () {
          const store = yield* Store
          const { next, quiet } = yield* listen
          yield* store.addScheduled("schedule", [{ payload: "s", score: 10 }])
          assert.deepStrictEqual(yield* next(1), [scheduled])
          yield* store.addScheduled("retry", [
            { payload: "r1", score: 10 },
            { payload: "r2", score: 20 },
          ])
          assert.deepStrictEqual(yield* next(1), [scheduled])
          yield* quiet
        }),
      )

      liveTest(
        "retry publishes Scheduled",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a"])
          yield* fetched(store, "q", "n", 1)
          const { next, quiet } = yield* listen
          yield* store.retry("q", "n", yield* tokenOf(store, "q", "n", "a"), "a-failed", 1234)
          assert.deepStrictEqual(yield* next(1), [scheduled])
          yield* quiet
        }),
      )

      liveTest(
        "promote publishes Work for each queue pushed to, and nothing for dead or missing members",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.kill("q", "n", "none", "d1", 5, NoLimits)
          yield* store.kill("q", "n", "none", "d2", 6, NoLimits)
          const { next, quiet } = yield* listen
          const moved = yield* store.promote(
            "dead",
            [
              { raw: "d1", payload: "p1", queue: "qa" },
              { raw: "d2", payload: "p2", queue: "qb" },
            ],
            99,
          )
          assert.strictEqual(moved, 2)
          assert.deepStrictEqual(sorted(yield* next(2)), [work("qa"), work("qb")])
          yield* quiet

          // to dead, or not in the set: no queue is pushed to, so nothing is published
          yield* store.kill("q", "n", "none", "d3", 7, NoLimits)
          const none = yield* store.promote(
            "dead",
            [
              { raw: "d3", payload: "p3", queue: undefined },
              { raw: "missing", payload: "p4", queue: "qc" },
            ],
            99,
          )
          assert.strictEqual(none, 1)
          yield* quiet
        }),
      )

      liveTest(
        "promote publishes Work for every queue it pushes to in one call",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.kill("q", "n", "none", "a1", 5, NoLimits)
          yield* store.kill("q", "n", "none", "a2", 6, NoLimits)
          yield* store.kill("q", "n", "none", "b1", 7, NoLimits)
          const { next } = yield* listen
          yield* store.promote(
            "dead",
            [
              { raw: "a1", payload: "a1", queue: "qa" },
              { raw: "a2", payload: "a2", queue: "qa" },
              { raw: "b1", payload: "b1", queue: "qb" },
            ],
            99,
          )
          // Redis publishes once per queue, MemoryStore once per job: both wake every queue.
          const got = [work("qa"), work("qb")]
          const seen = new Set<string>()
          while (seen.size < got.length) for (const notice of yield* next(1)) seen.add(show([notice]))
          assert.deepStrictEqual([...seen].sort(), got.map((notice) => show([notice])).sort())
        }),
      )

      liveTest(
        "requeueInProgress publishes Work when it moved jobs, and nothing when it moved none",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          yield* fetched(store, "q", "n", 2)
          const { next, quiet } = yield* listen
          assert.strictEqual(yield* store.requeueInProgress("q", "other-node"), 0)
          assert.strictEqual(yield* store.requeueInProgress("empty", "n"), 0)
          yield* quiet
          assert.strictEqual(yield* store.requeueInProgress("q", "n"), 2)
          assert.deepStrictEqual(yield* next(1), [work("q")])
          assert.strictEqual(yield* store.requeueInProgress("q", "n"), 0)
          yield* quiet
        }),
      )

      liveTest(
        "recoverBatch publishes Work when it requeued jobs, and nothing for an empty list or only poison pills",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a"])
          yield* fetched(store, "q", "dead", 1)
          const { next, quiet } = yield* listen
          assert.deepStrictEqual(yield* recoverRaws(store, "q", "other-node", 3), { taken: 0, poisoned: [] })
          assert.deepStrictEqual(yield* recoverRaws(store, "empty", "dead", 3), { taken: 0, poisoned: [] })
          yield* quiet
          assert.deepStrictEqual(yield* recoverRaws(store, "q", "dead", 3), { taken: 1, poisoned: [] })
          assert.deepStrictEqual(yield* next(1), [work("q")])
          yield* quiet
          // a is a suspect now: fetched alone, recovered again past the limit, it stays a pill
          assert.deepStrictEqual((yield* fetched(store, "q", "dead2", 10, true)).jobs, ["a"])
          assert.deepStrictEqual(yield* recoverRaws(store, "q", "dead2", 1), { taken: 1, poisoned: ["a"] })
          yield* quiet
        }),
      )

      liveTest(
        "requeueOrphans publishes Work when it moved jobs, and nothing when it moved none",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          yield* fetched(store, "q", "n", 2)
          const { next, quiet } = yield* listen
          const tokens = yield* tokensOf(store, "q", "n", ["a", "b"])
          assert.strictEqual(yield* store.requeueOrphans("q", "n", ["zzz"]), 0)
          assert.strictEqual(yield* store.requeueOrphans("q", "n", []), 0)
          assert.strictEqual(yield* store.requeueOrphans("q", "other-node", tokens), 0)
          yield* quiet
          assert.strictEqual(yield* store.requeueOrphans("q", "n", tokens), 2)
          assert.deepStrictEqual(yield* next(1), [work("q")])
          yield* quiet
        }),
      )

      liveTest(
        "heartbeat, blocked and isolated fetches, forgetRecovery and deregister publish nothing",
        Effect.gen(function* () {
          const store = yield* Store
          yield* recovered("q", ["s"])
          const { quiet } = yield* listen
          yield* store.heartbeat(beat("n", 60_000, Date.now()))
          assert.isTrue((yield* fetched(store, "q", "n", 10)).blocked)
          assert.isTrue((yield* fetched(store, "q", "n", 10, true)).isolated)
          yield* store.forgetRecovery("q", "s")
          yield* store.ack("q", "n", yield* tokensOf(store, "q", "n", ["s"]))
          assert.isTrue(yield* store.deregister("n"))
          yield* quiet
        }),
      )

      liveTest(
        "setPaused publishes Pause when pausing and when resuming",
        Effect.gen(function* () {
          const store = yield* Store
          const { next, quiet } = yield* listen
          yield* store.setPaused("q", true)
          assert.deepStrictEqual(yield* next(1), [pause("q")])
          yield* store.setPaused("q", false)
          assert.deepStrictEqual(yield* next(1), [pause("q")])
          yield* store.setPaused("other", true)
          assert.deepStrictEqual(yield* next(1), [pause("other")])
          yield* quiet
        }),
      )

      liveTest(
        "fetch, ack, kill and incrementStats publish nothing",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          const { quiet } = yield* listen
          yield* fetched(store, "q", "n", 2)
          yield* store.ack("q", "n", yield* tokensOf(store, "q", "n", ["a"]))
          yield* store.kill("q", "n", yield* tokenOf(store, "q", "n", "b"), "b-dead", 10, NoLimits)
          yield* store.incrementStats(1, 1, "2024-01-01")
          yield* quiet
        }),
      )

      liveTest(
        "notifications arrive in the order they were published",
        Effect.gen(function* () {
          const store = yield* Store
          const { next, quiet } = yield* listen
          yield* store.enqueue("q", ["a"])
          // Taken before the pause: a paused queue gives nothing.
          yield* fetched(store, "q", "n", 1)
          yield* store.setPaused("q", true)
          yield* store.retry("q", "n", yield* tokenOf(store, "q", "n", "a"), "a-failed", 10)
          yield* store.setPaused("q", false)
          yield* store.enqueue("r", ["b"])
          assert.deepStrictEqual(yield* next(5), [work("q"), pause("q"), scheduled, pause("q"), work("r")])
          yield* quiet
        }),
      )

      liveTest(
        "every running stream receives every notification",
        Effect.gen(function* () {
          const store = yield* Store
          const first = yield* listen
          const second = yield* listen
          yield* store.enqueue("q", ["a"])
          yield* store.setPaused("q", true)
          assert.deepStrictEqual(yield* first.next(2), [work("q"), pause("q")])
          assert.deepStrictEqual(yield* second.next(2), [work("q"), pause("q")])
        }),
      )
    })
  },
)
