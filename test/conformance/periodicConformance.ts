/**
 * The store conformance suite of the periodic role (`Store.PeriodicStore`): the registry of declared
 * entries, each entry's state, and the claim that hands each tick (and each `run now` request) to
 * one caller with the push of its job. Run on every store kind by memoryStore.test.ts,
 * redisStore.test.ts and the cluster's conformance test.
 */
import { assert, describe } from "@effect/vitest"
import { Effect } from "effect"
import { PeriodicStore, Store } from "../../packages/core/src/Store.ts"
import { job, listen, roleSuite } from "./conformanceSupport.ts"

const entry = { name: "nightly", queue: "reports" }
const payload = (jid: string) => job(jid, { queue: "reports" })

export const periodicConformance = roleSuite(
  "periodic",
  PeriodicStore,
  ["declarePeriodic", "periodicRecords", "periodicStates", "claimPeriodic", "setPeriodicPaused", "requestPeriodicRun"],
  ({ test, liveTest }) => {
    describe("periodic", () => {
      test(
        "a tick is enqueued once: the same or an earlier tick is taken, a later one enqueued",
        Effect.gen(function* () {
          const store = yield* Store
          assert.deepStrictEqual(yield* store.periodicStates([entry]), [
            { lastTick: undefined, lastEnqueued: undefined, paused: false, runRequested: undefined },
          ])
          assert.strictEqual(
            yield* store.claimPeriodic(entry, { _tag: "Tick", tick: 60_000 }, payload("a")),
            "Enqueued",
          )
          assert.strictEqual(yield* store.claimPeriodic(entry, { _tag: "Tick", tick: 60_000 }, payload("b")), "Taken")
          assert.strictEqual(yield* store.claimPeriodic(entry, { _tag: "Tick", tick: 59_999 }, payload("c")), "Taken")
          assert.strictEqual(
            yield* store.claimPeriodic(entry, { _tag: "Tick", tick: 120_000 }, payload("d")),
            "Enqueued",
          )
          assert.deepStrictEqual(yield* store.queueRange("reports", 0, -1), [payload("d"), payload("a")])
          assert.include(yield* store.queues, "reports")
          const [state] = yield* store.periodicStates([entry])
          assert.strictEqual(state?.lastTick, 120_000)
          assert.strictEqual(state?.lastEnqueued, 120_000)
          // Another entry (or the same name on another queue) has a state of its own.
          assert.strictEqual(
            yield* store.claimPeriodic(
              { name: "other", queue: "reports" },
              { _tag: "Tick", tick: 60_000 },
              payload("e"),
            ),
            "Enqueued",
          )
          assert.strictEqual(yield* store.queueSize("reports"), 3)
        }),
      )

      test(
        "concurrent claims of one tick: exactly one is enqueued",
        Effect.gen(function* () {
          const store = yield* Store
          const results = yield* Effect.forEach(
            Array.from({ length: 10 }, (_, i) => i),
            (i) => store.claimPeriodic(entry, { _tag: "Tick", tick: 1_000 }, payload(`n${i}`)),
            { concurrency: "unbounded" },
          )
          assert.strictEqual(results.filter((result) => result === "Enqueued").length, 1)
          assert.strictEqual(results.filter((result) => result === "Taken").length, 9)
          assert.strictEqual(yield* store.queueSize("reports"), 1)
        }),
      )

      test(
        "a paused entry's tick is handled and pushes nothing; resumed, the next tick is enqueued",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.setPeriodicPaused(entry, true)
          assert.isTrue((yield* store.periodicStates([entry]))[0]?.paused)
          assert.strictEqual(yield* store.claimPeriodic(entry, { _tag: "Tick", tick: 1_000 }, payload("a")), "Paused")
          assert.strictEqual(yield* store.claimPeriodic(entry, { _tag: "Tick", tick: 1_000 }, payload("a")), "Taken")
          assert.strictEqual(yield* store.queueSize("reports"), 0)
          assert.deepStrictEqual(yield* store.periodicStates([entry]), [
            { lastTick: 1_000, lastEnqueued: undefined, paused: true, runRequested: undefined },
          ])
          yield* store.setPeriodicPaused(entry, false)
          assert.strictEqual(yield* store.claimPeriodic(entry, { _tag: "Tick", tick: 2_000 }, payload("b")), "Enqueued")
          assert.deepStrictEqual(yield* store.queueRange("reports", 0, -1), [payload("b")])
        }),
      )

      test(
        "a run request is enqueued once, by the claim that names it, paused or not",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.setPeriodicPaused(entry, true)
          yield* store.requestPeriodicRun(entry, 5_000)
          assert.strictEqual((yield* store.periodicStates([entry]))[0]?.runRequested, 5_000)
          assert.strictEqual(
            yield* store.claimPeriodic(entry, { _tag: "Run", requestedAt: 4_000 }, payload("x")),
            "Taken",
          )
          assert.strictEqual(
            yield* store.claimPeriodic(entry, { _tag: "Run", requestedAt: 5_000 }, payload("run")),
            "Enqueued",
          )
          assert.strictEqual(
            yield* store.claimPeriodic(entry, { _tag: "Run", requestedAt: 5_000 }, payload("y")),
            "Taken",
          )
          assert.deepStrictEqual(yield* store.queueRange("reports", 0, -1), [payload("run")])
          assert.deepStrictEqual(yield* store.periodicStates([entry]), [
            { lastTick: undefined, lastEnqueued: undefined, paused: true, runRequested: undefined },
          ])
        }),
      )

      test(
        "declared entries are listed with when they were declared; undeclared ones leave once stale",
        Effect.gen(function* () {
          const store = yield* Store
          assert.deepStrictEqual(yield* store.periodicRecords, [])
          const a = { name: "a", queue: "q1", description: '{"cron":"* * * * *"}' }
          const b = { name: "b", queue: "q2", description: '{"cron":"0 * * * *"}' }
          yield* store.declarePeriodic([b, a], 10_000, 5_000)
          assert.deepStrictEqual(yield* store.periodicRecords, [
            { ...a, seenAt: 10_000 },
            { ...b, seenAt: 10_000 },
          ])
          // Only `a` is declared again: `b` stays while fresh, and leaves once stale.
          yield* store.declarePeriodic([{ ...a, description: "changed" }], 14_000, 5_000)
          assert.deepStrictEqual(yield* store.periodicRecords, [
            { ...a, description: "changed", seenAt: 14_000 },
            { ...b, seenAt: 10_000 },
          ])
          yield* store.declarePeriodic([a], 16_000, 5_000)
          assert.deepStrictEqual(yield* store.periodicRecords, [{ ...a, seenAt: 16_000 }])
          // A declaration alone writes no state the listing would show.
          assert.deepStrictEqual(yield* store.periodicStates([a]), [
            { lastTick: undefined, lastEnqueued: undefined, paused: false, runRequested: undefined },
          ])
        }),
      )

      liveTest(
        "an enqueued tick wakes the queue's nodes; a taken or paused one does not",
        Effect.gen(function* () {
          const store = yield* Store
          const { next, quiet } = yield* listen
          yield* store.claimPeriodic(entry, { _tag: "Tick", tick: 1_000 }, payload("a"))
          assert.deepStrictEqual(yield* next(1), [{ _tag: "Work", queue: "reports" }])
          yield* store.claimPeriodic(entry, { _tag: "Tick", tick: 1_000 }, payload("b"))
          yield* store.setPeriodicPaused(entry, true)
          yield* store.claimPeriodic(entry, { _tag: "Tick", tick: 2_000 }, payload("c"))
          yield* quiet
        }),
      )
    })
  },
)
