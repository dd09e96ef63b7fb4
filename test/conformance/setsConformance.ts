/**
 * The store conformance suite of the sets and admin role (`Store.SetStore`): sorted sets, queues
 * and stats: earliest, due, promote (and the scheduler's promoteDue on it), stats, queue and set
 * listings and deletions, and the inspection API over them. Run on every store kind by
 * memoryStore.test.ts, redisStore.test.ts and the cluster's conformance test.
 */
import { assert, describe } from "@effect/vitest"
import { Clock, Effect, Layer, Result } from "effect"
import * as Events from "../../packages/core/src/Events.ts"
import * as Inspection from "../../packages/core/src/Inspection.ts"
import { DeadLetter } from "../../packages/core/src/internal/DeadLetter.ts"
import * as Scheduler from "../../packages/core/src/internal/Scheduler.ts"
import * as Job from "../../packages/core/src/Job.ts"
import * as Payload from "../../packages/core/src/Payload.ts"
import * as Settings from "../../packages/core/src/Settings.ts"
import {
  type SetScanStep,
  SetStore,
  type SortedSetName,
  Store,
  type StoreShape,
} from "../../packages/core/src/Store.ts"
import { job, NoLimits, parse, roleSuite } from "./conformanceSupport.ts"

export const setsConformance = roleSuite(
  "sets and admin",
  SetStore,
  [
    "earliest",
    "due",
    "promote",
    "queues",
    "queueSize",
    "queueRange",
    "deleteFromQueue",
    "clearQueue",
    "setSize",
    "setRange",
    "deleteFromSet",
    "scanSet",
    "setAt",
    "clearSet",
    "incrementStats",
    "stats",
  ],
  ({ test }) => {
    describe("earliest", () => {
      test(
        "of an empty set is undefined",
        Effect.gen(function* () {
          const store = yield* Store
          assert.isUndefined(yield* store.earliest("schedule"))
          assert.isUndefined(yield* store.earliest("retry"))
        }),
      )

      test(
        "is the lowest score of the named set, and follows removals",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("schedule", [
            { payload: "s30", score: 30 },
            { payload: "s10", score: 10.5 },
            { payload: "s20", score: 20 },
          ])
          assert.strictEqual(yield* store.earliest("schedule"), 10.5)
          assert.isUndefined(yield* store.earliest("retry"))
          yield* store.addScheduled("retry", [{ payload: "r", score: 1_700_000_000.25 }])
          assert.strictEqual(yield* store.earliest("retry"), 1_700_000_000.25)
          assert.strictEqual(yield* store.earliest("schedule"), 10.5)
          yield* store.deleteFromSet("schedule", "s10")
          assert.strictEqual(yield* store.earliest("schedule"), 20)
          yield* store.promote("schedule", [{ raw: "s20", payload: "s20", queue: "q" }], 99)
          assert.strictEqual(yield* store.earliest("schedule"), 30)
          yield* store.clearSet("schedule")
          assert.isUndefined(yield* store.earliest("schedule"))
          assert.strictEqual(yield* store.earliest("retry"), 1_700_000_000.25)
        }),
      )

      test(
        "reads a negative and a zero score",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("retry", [
            { payload: "zero", score: 0 },
            { payload: "negative", score: -5 },
          ])
          assert.strictEqual(yield* store.earliest("retry"), -5)
          yield* store.deleteFromSet("retry", "negative")
          assert.strictEqual(yield* store.earliest("retry"), 0)
        }),
      )
    })

    describe("due", () => {
      const seed = Store.use((store) =>
        store.addScheduled("schedule", [
          { payload: "s30", score: 30 },
          { payload: "s10", score: 10 },
          { payload: "s20", score: 20 },
        ]),
      )

      test(
        "returns only members with score <= now, oldest first",
        Effect.gen(function* () {
          const store = yield* Store
          yield* seed
          assert.deepStrictEqual(yield* store.due("schedule", 20, 100), ["s10", "s20"])
          assert.deepStrictEqual(yield* store.due("schedule", 19.999, 100), ["s10"])
          assert.deepStrictEqual(yield* store.due("schedule", 9, 100), [])
          assert.deepStrictEqual(yield* store.due("schedule", 1000, 100), ["s10", "s20", "s30"])
          // due only reads
          assert.strictEqual(yield* store.setSize("schedule"), 3)
        }),
      )

      test(
        "respects the limit",
        Effect.gen(function* () {
          const store = yield* Store
          yield* seed
          assert.deepStrictEqual(yield* store.due("schedule", 1000, 2), ["s10", "s20"])
          assert.deepStrictEqual(yield* store.due("schedule", 1000, 1), ["s10"])
          assert.deepStrictEqual(yield* store.due("schedule", 1000, 0), [])
        }),
      )

      test(
        "reads only the named set",
        Effect.gen(function* () {
          const store = yield* Store
          yield* seed
          yield* store.addScheduled("retry", [{ payload: "r5", score: 5 }])
          assert.deepStrictEqual(yield* store.due("retry", 1000, 100), ["r5"])
          assert.deepStrictEqual(yield* store.due("schedule", 5, 100), [])
        }),
      )
    })

    describe("promote", () => {
      test(
        "moves members still in the set to their queue, and ignores the rest",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("schedule", [
            { payload: "a", score: 10 },
            { payload: "b", score: 20 },
          ])
          const moved = yield* store.promote(
            "schedule",
            [
              { raw: "a", payload: "a-stamped", queue: "q" },
              { raw: "missing", payload: "missing-stamped", queue: "q" },
            ],
            99,
          )
          assert.strictEqual(moved, 1)
          assert.deepStrictEqual(yield* store.setRange("schedule", 0, -1), [{ payload: "b", score: 20 }])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["a-stamped"])
          assert.deepStrictEqual(yield* store.queues, ["q"])
          assert.strictEqual(yield* store.setSize("dead"), 0)
        }),
      )

      test(
        "moves a member once when promoted twice",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("retry", [{ payload: "a", score: 10 }])
          const promotion = { raw: "a", payload: "a-stamped", queue: "q" }
          assert.strictEqual(yield* store.promote("retry", [promotion], 99), 1)
          assert.strictEqual(yield* store.promote("retry", [promotion], 99), 0)
          assert.strictEqual(yield* store.queueSize("q"), 1)
          assert.strictEqual(yield* store.setSize("retry"), 0)
        }),
      )

      test(
        "of a raw not in the set does nothing and returns 0",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("retry", [{ payload: "a", score: 10 }])
          const moved = yield* store.promote("retry", [{ raw: "other", payload: "x", queue: "q" }], 99)
          assert.strictEqual(moved, 0)
          assert.strictEqual(yield* store.queueSize("q"), 0)
          assert.deepStrictEqual(yield* store.queues, [])
          assert.deepStrictEqual(yield* store.setRange("retry", 0, -1), [{ payload: "a", score: 10 }])
          assert.strictEqual(yield* store.setSize("dead"), 0)
        }),
      )

      test(
        "with no queue sends the payload to dead at deadAt",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("schedule", [{ payload: "bad", score: 10 }])
          const moved = yield* store.promote(
            "schedule",
            [{ raw: "bad", payload: "bad-wrapped", queue: undefined }],
            77.5,
          )
          assert.strictEqual(moved, 1)
          assert.strictEqual(yield* store.setSize("schedule"), 0)
          assert.deepStrictEqual(yield* store.setRange("dead", 0, -1), [{ payload: "bad-wrapped", score: 77.5 }])
          assert.deepStrictEqual(yield* store.queues, [])
        }),
      )

      test(
        "moves members of the dead set back to a queue",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.kill("q", "n", "none", "d", 10, NoLimits)
          assert.strictEqual(yield* store.promote("dead", [{ raw: "d", payload: "d2", queue: "q" }], 99), 1)
          assert.strictEqual(yield* store.setSize("dead"), 0)
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["d2"])
        }),
      )
    })

    describe("Scheduler.promoteDue", () => {
      // What cannot run goes to dead through the runtime's one dead-letter path.
      const withDeadLetter = Effect.provide(
        DeadLetter.layer.pipe(Layer.provide(Layer.merge(Events.layer, Settings.layer()))),
      )
      test(
        "moves only due jobs to their queues and stamps enqueued_at",
        Effect.gen(function* () {
          const store = yield* Store
          const dueJob = job("due1", { queue: "qa" })
          const laterJob = job("later", { queue: "qa" })
          yield* store.addScheduled("schedule", [
            { payload: dueJob, score: 10 },
            { payload: laterJob, score: 1000 },
          ])
          const result = yield* Scheduler.promoteDue("schedule", 100_000)
          assert.strictEqual(result.moved, 1)
          assert.deepStrictEqual(result.malformed, [])
          assert.deepStrictEqual(yield* store.setRange("schedule", 0, -1), [{ payload: laterJob, score: 1000 }])
          const queued = yield* store.queueRange("qa", 0, -1)
          assert.strictEqual(queued.length, 1)
          const promoted = parse(queued[0] ?? "")
          assert.strictEqual(promoted.jid, "due1")
          assert.strictEqual(promoted.enqueued_at, 100)
          assert.deepStrictEqual(promoted.args, ["due1"])
        }).pipe(withDeadLetter),
      )

      test(
        "sends malformed due jobs to dead, wrapped, and still promotes the rest",
        Effect.gen(function* () {
          const store = yield* Store
          const notJson = '{"class": "Broken", "queue": "qa", '
          const noQueue = JSON.stringify({ class: "NoQueue", args: [], jid: "nq" })
          const good = job("good", { queue: "qa" })
          yield* store.addScheduled("retry", [
            { payload: notJson, score: 5 },
            { payload: noQueue, score: 6 },
            { payload: good, score: 7 },
          ])
          const result = yield* Scheduler.promoteDue("retry", 50_000)
          assert.strictEqual(result.moved, 3)
          assert.deepStrictEqual(result.malformed.map((m) => m.raw).sort(), [notJson, noQueue].sort())
          assert.strictEqual(yield* store.setSize("retry"), 0)

          const queued = yield* store.queueRange("qa", 0, -1)
          assert.deepStrictEqual(
            queued.map((raw) => parse(raw).jid),
            ["good"],
          )

          const dead = yield* store.setRange("dead", 0, -1)
          assert.strictEqual(dead.length, 2)
          const wrapped = dead.map(({ payload, score }) => ({ entry: parse(payload), score }))
          for (const { entry, score } of wrapped) {
            assert.strictEqual(entry.class, Job.MalformedClass)
            assert.strictEqual(entry.class, "Verk::MalformedJob")
            assert.strictEqual(score, 50)
            assert.isString(entry.error_message)
            assert.isAbove((entry.error_message as string).length, 0)
          }
          // the original text, byte for byte
          assert.deepStrictEqual(wrapped.map(({ entry }) => entry.payload).sort(), [notJson, noQueue].sort())

          // nothing is left to loop on
          const again = yield* Scheduler.promoteDue("retry", 50_000)
          assert.strictEqual(again.moved, 0)
          assert.strictEqual(yield* store.setSize("dead"), 2)
        }).pipe(withDeadLetter),
      )

      test(
        "promotes more than one batch of due jobs",
        Effect.gen(function* () {
          const store = yield* Store
          const count = Scheduler.PromoteBatchSize * 2 + 5
          const entries = Array.from({ length: count }, (_, i) => ({
            payload: job(`j${i}`, { queue: "bulk" }),
            score: i,
          }))
          yield* store.addScheduled("schedule", entries)
          const result = yield* Scheduler.promoteDue("schedule", count * 1000)
          assert.strictEqual(result.moved, count)
          assert.strictEqual(yield* store.queueSize("bulk"), count)
          assert.strictEqual(yield* store.setSize("schedule"), 0)
          // oldest due first: the next job to run is the one scheduled earliest
          assert.strictEqual(parse((yield* store.queueRange("bulk", -1, -1))[0] ?? "").jid, "j0")
        }).pipe(withDeadLetter),
      )
    })

    describe("stats", () => {
      test(
        "incrementStats adds to the totals and to the day",
        Effect.gen(function* () {
          const store = yield* Store
          assert.deepStrictEqual(yield* store.stats(), { processed: 0, failed: 0 })
          yield* store.incrementStats(3, 1, "2024-01-01")
          yield* store.incrementStats(2, 0, "2024-01-02")
          yield* store.incrementStats(1, 4, "2024-01-01")
          assert.deepStrictEqual(yield* store.stats(), { processed: 6, failed: 5 })
          assert.deepStrictEqual(yield* store.stats("2024-01-01"), { processed: 4, failed: 5 })
          assert.deepStrictEqual(yield* store.stats("2024-01-02"), { processed: 2, failed: 0 })
          assert.deepStrictEqual(yield* store.stats("2024-01-03"), { processed: 0, failed: 0 })
        }),
      )
    })

    describe("queues", () => {
      test(
        "queueRange has LRANGE semantics: index 0 is the newest",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b", "c", "d"])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, 0), ["d"])
          assert.deepStrictEqual(yield* store.queueRange("q", -1, -1), ["a"])
          assert.deepStrictEqual(yield* store.queueRange("q", 1, 2), ["c", "b"])
          assert.deepStrictEqual(yield* store.queueRange("q", -2, -1), ["b", "a"])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, 100), ["d", "c", "b", "a"])
          assert.deepStrictEqual(yield* store.queueRange("q", -100, 0), ["d"])
          assert.deepStrictEqual(yield* store.queueRange("q", 2, 1), [])
          assert.deepStrictEqual(yield* store.queueRange("q", 10, 20), [])
        }),
      )

      test(
        "an unknown queue is empty and not listed",
        Effect.gen(function* () {
          const store = yield* Store
          assert.strictEqual(yield* store.queueSize("nope"), 0)
          assert.deepStrictEqual(yield* store.queueRange("nope", 0, -1), [])
          assert.deepStrictEqual(yield* store.queues, [])
        }),
      )

      test(
        "deleteFromQueue removes one occurrence and says whether it found one",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["x", "y", "x"])
          assert.isTrue(yield* store.deleteFromQueue("q", "x"))
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["y", "x"])
          assert.isFalse(yield* store.deleteFromQueue("q", "zzz"))
          assert.isFalse(yield* store.deleteFromQueue("nope", "x"))
          assert.strictEqual(yield* store.queueSize("q"), 2)
        }),
      )

      test(
        "clearQueue empties the queue and forgets its name, leaving others",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("a", ["1", "2"])
          yield* store.enqueue("b", ["3"])
          yield* store.clearQueue("a")
          assert.strictEqual(yield* store.queueSize("a"), 0)
          assert.deepStrictEqual(yield* store.queueRange("a", 0, -1), [])
          assert.deepStrictEqual(yield* store.queues, ["b"])
          assert.deepStrictEqual(yield* store.queueRange("b", 0, -1), ["3"])
        }),
      )
    })

    describe("sorted sets", () => {
      test(
        "setRange orders by ascending score with ZRANGE index semantics",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("schedule", [
            { payload: "c", score: 3 },
            { payload: "a", score: 1 },
            { payload: "b", score: 2 },
          ])
          assert.strictEqual(yield* store.setSize("schedule"), 3)
          assert.deepStrictEqual(
            (yield* store.setRange("schedule", 0, -1)).map(({ payload }) => payload),
            ["a", "b", "c"],
          )
          assert.deepStrictEqual(yield* store.setRange("schedule", 0, 0), [{ payload: "a", score: 1 }])
          assert.deepStrictEqual(yield* store.setRange("schedule", -1, -1), [{ payload: "c", score: 3 }])
          assert.deepStrictEqual(
            (yield* store.setRange("schedule", 1, 10)).map(({ payload }) => payload),
            ["b", "c"],
          )
          assert.deepStrictEqual(yield* store.setRange("schedule", 2, 1), [])
        }),
      )

      test(
        "setRange orders equal scores by member",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("retry", [
            { payload: "m2", score: 5 },
            { payload: "m1", score: 5 },
            { payload: "m0", score: 6 },
          ])
          assert.deepStrictEqual(
            (yield* store.setRange("retry", 0, -1)).map(({ payload }) => payload),
            ["m1", "m2", "m0"],
          )
        }),
      )

      test(
        "deleteFromSet removes a member and says whether it was there",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("retry", [
            { payload: "a", score: 1 },
            { payload: "b", score: 2 },
          ])
          assert.isTrue(yield* store.deleteFromSet("retry", "a"))
          assert.isFalse(yield* store.deleteFromSet("retry", "a"))
          assert.isFalse(yield* store.deleteFromSet("schedule", "b"))
          assert.deepStrictEqual(yield* store.setRange("retry", 0, -1), [{ payload: "b", score: 2 }])
        }),
      )

      test(
        "clearSet empties only that set",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("retry", [{ payload: "a", score: 1 }])
          yield* store.addScheduled("schedule", [{ payload: "b", score: 2 }])
          yield* store.kill("q", "n", "none", "c", 3, NoLimits)
          yield* store.clearSet("retry")
          assert.strictEqual(yield* store.setSize("retry"), 0)
          assert.deepStrictEqual(yield* store.setRange("retry", 0, -1), [])
          assert.strictEqual(yield* store.setSize("schedule"), 1)
          assert.strictEqual(yield* store.setSize("dead"), 1)
          yield* store.clearSet("dead")
          assert.strictEqual(yield* store.setSize("dead"), 0)
          assert.strictEqual(yield* store.setSize("schedule"), 1)
        }),
      )
    })

    describe("scanSet and setAt", () => {
      /** Every step of a scan from the start, `between` run after each one. */
      const scanAll = (
        store: StoreShape,
        set: SortedSetName,
        count: number,
        contains?: string,
        between: (step: SetScanStep) => Effect.Effect<void, unknown> = () => Effect.void,
      ) =>
        Effect.gen(function* () {
          const seen = new Map<string, number>()
          let cursor = "0"
          let steps = 0
          do {
            const step = yield* store.scanSet(set, cursor, count, contains)
            for (const { payload, score } of step.entries) seen.set(payload, score)
            yield* between(step)
            cursor = step.cursor
            assert.isBelow(++steps, 10_000, "the scan never ends")
          } while (cursor !== "0")
          return seen
        })
      // Not UTF-8: the member is carried in Payload's binary form and must come back as it went in.
      const binary = Payload.fromBytes(Uint8Array.from([0xff, 0xfe, 0x41, 0x20, 0x6f, 0x72, 0x64]))

      test(
        "a scan in small steps sees every member with its score, binary ones and every queue's included",
        Effect.gen(function* () {
          const store = yield* Store
          const members = [
            ...Array.from({ length: 30 }, (_, n) => ({
              payload: job(`j${n}`, { queue: `q${n % 3}` }),
              score: 100 + n,
            })),
            { payload: "order 42", score: 7.25 },
            { payload: binary, score: 8 },
          ]
          yield* store.kill("q", "n", "none", members[0]!.payload, 1, NoLimits)
          yield* store.deleteFromSet("dead", members[0]!.payload)
          for (const { payload, score } of members) yield* store.kill("q", "n", "none", payload, score, NoLimits)
          const seen = yield* scanAll(store, "dead", 4)
          assert.strictEqual(seen.size, members.length)
          for (const { payload, score } of members) assert.strictEqual(seen.get(payload), score, payload)
          assert.strictEqual((yield* scanAll(store, "retry", 4)).size, 0)
        }),
      )

      test(
        "contains lets through every member holding the text (glob characters are text)",
        Effect.gen(function* () {
          const store = yield* Store
          const holding = [job("h1", { class: "a*b[c]?\\d" }), job("h2", { class: "x a*b[c]?\\d y", queue: "other" })]
          const others = Array.from({ length: 20 }, (_, n) => job(`o${n}`, { class: "abc" }))
          yield* store.addScheduled("retry", [
            ...holding.map((payload, n) => ({ payload, score: n })),
            ...others.map((payload, n) => ({ payload, score: 10 + n })),
          ])
          const seen = yield* scanAll(store, "retry", 3, "a*b[c]?\\\\d")
          for (const payload of holding) assert.isTrue(seen.has(payload), payload)
          const byBytes = yield* scanAll(store, "retry", 3, "h2")
          assert.isTrue(byBytes.has(holding[1]!))
        }),
      )

      test(
        "a member present for the whole scan is seen though others are deleted meanwhile",
        Effect.gen(function* () {
          const store = yield* Store
          const members = Array.from({ length: 40 }, (_, n) => ({ payload: job(`d${n}`), score: n }))
          yield* store.addScheduled("schedule", members)
          const deleted = new Set<string>()
          const seen = yield* scanAll(store, "schedule", 2, undefined, (step) =>
            Effect.forEach(step.entries, ({ payload }) =>
              deleted.size < 15
                ? Effect.map(store.deleteFromSet("schedule", payload), () => void deleted.add(payload))
                : Effect.void,
            ),
          )
          for (const { payload } of members) if (!deleted.has(payload)) assert.isTrue(seen.has(payload), payload)
        }),
      )

      test(
        "setAt: the members at exactly that score, in windows",
        Effect.gen(function* () {
          const store = yield* Store
          const at = 1_700_000_000.123456
          const same = Array.from({ length: 5 }, (_, n) => job(`s${n}`, { queue: `q${n % 2}` }))
          yield* store.addScheduled("retry", [
            ...same.map((payload) => ({ payload, score: at })),
            { payload: binary, score: at },
            { payload: job("near"), score: at + 0.000001 },
            { payload: job("before"), score: at - 1 },
          ])
          const all = yield* store.setAt("retry", at, 0, 100)
          assert.sameMembers(
            all.map(({ payload }) => payload),
            [...same, binary],
          )
          for (const member of all) assert.strictEqual(member.score, at)
          const windows = [...(yield* store.setAt("retry", at, 0, 4)), ...(yield* store.setAt("retry", at, 4, 4))].map(
            ({ payload }) => payload,
          )
          assert.sameMembers(windows, [...same, binary])
          assert.deepStrictEqual(yield* store.setAt("retry", at, 6, 4), [])
          assert.deepStrictEqual(yield* store.setAt("retry", at + 2, 0, 4), [])
          assert.deepStrictEqual(yield* store.setAt("dead", at, 0, 4), [])
        }),
      )
    })

    describe("Inspection", () => {
      test(
        "RetrySet.requeueNow moves the job to its queue, stamped",
        Effect.gen(function* () {
          const store = yield* Store
          const raw = job("r1", { queue: "qr", retry_count: 0 })
          const other = job("r2", { queue: "qr" })
          yield* store.addScheduled("retry", [
            { payload: raw, score: 50 },
            { payload: other, score: 60 },
          ])
          const before = yield* Clock.currentTimeMillis
          assert.isTrue(yield* Inspection.RetrySet.requeueNow("r1"))
          const after = yield* Clock.currentTimeMillis
          assert.deepStrictEqual(yield* store.setRange("retry", 0, -1), [{ payload: other, score: 60 }])
          const queued = yield* store.queueRange("qr", 0, -1)
          assert.strictEqual(queued.length, 1)
          const moved = parse(queued[0] ?? "")
          assert.strictEqual(moved.jid, "r1")
          assert.strictEqual(moved.retry_count, 0)
          assert.isNumber(moved.enqueued_at)
          const enqueuedAt = (moved.enqueued_at as number) * 1000
          assert.isTrue(
            enqueuedAt >= before && enqueuedAt <= after,
            `enqueued_at ${enqueuedAt} not in [${before}, ${after}]`,
          )
        }),
      )

      test(
        "RetrySet.requeueNow of a jid not in the set returns false and changes nothing",
        Effect.gen(function* () {
          const store = yield* Store
          const raw = job("r1", { queue: "qr" })
          yield* store.addScheduled("retry", [{ payload: raw, score: 50 }])
          assert.isFalse(yield* Inspection.RetrySet.requeueNow("missing"))
          assert.deepStrictEqual(yield* store.setRange("retry", 0, -1), [{ payload: raw, score: 50 }])
          assert.strictEqual(yield* store.queueSize("qr"), 0)
          assert.deepStrictEqual(yield* store.queues, [])
        }),
      )

      test(
        "Queue.find and Queue.delete work by jid",
        Effect.gen(function* () {
          const store = yield* Store
          const [j1, j2, j3] = [job("j1", { queue: "qf" }), job("j2", { queue: "qf" }), job("j3", { queue: "qf" })]
          yield* store.enqueue("qf", [j1, j2, j3])
          const found = yield* Inspection.Queue.find("qf", "j2")
          assert.isDefined(found)
          assert.strictEqual(found?.raw, j2)
          assert.isUndefined(yield* Inspection.Queue.find("qf", "nope"))
          assert.isTrue(yield* Inspection.Queue.delete("qf", "j2"))
          assert.isFalse(yield* Inspection.Queue.delete("qf", "j2"))
          assert.isUndefined(yield* Inspection.Queue.find("qf", "j2"))
          assert.deepStrictEqual(yield* store.queueRange("qf", 0, -1), [j3, j1])
        }),
      )

      test(
        "DeadSet.range shows malformed entries as failures, not hidden",
        Effect.gen(function* () {
          const store = yield* Store
          const good = job("g1")
          yield* store.kill("q", "n", "none", "not json at all", 10, NoLimits)
          yield* store.kill("q", "n", "none", good, 20, NoLimits)
          const entries = yield* Inspection.DeadSet.range()
          assert.strictEqual(entries.length, 2)
          const [bad, ok] = entries
          assert.strictEqual(bad?.raw, "not json at all")
          assert.strictEqual(bad?.score, 10)
          assert.isTrue(bad !== undefined && Result.isFailure(bad.job))
          assert.strictEqual(ok?.raw, good)
          assert.isTrue(ok !== undefined && Result.isSuccess(ok.job) && ok.job.success.jid === "g1")
        }),
      )
    })
  },
)
