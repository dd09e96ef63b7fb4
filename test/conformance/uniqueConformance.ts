/**
 * The store conformance suite of unique locks (`Store.JobStore`'s `pushUnique`, `releaseUnique`,
 * `uniqueLock`): a lock and its job written together, a duplicate naming the holder, the
 * compare-and-delete release, the ttl, and debounce's replacement of a waiting job. Run on every
 * store kind by memoryStore.test.ts, redisStore.test.ts and the cluster's conformance test.
 */
import { assert, describe } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { JobStore, Store } from "../../packages/core/src/Store.ts"
import type { Push } from "../../packages/core/src/Unique.ts"
import { job, parse, roleSuite } from "./conformanceSupport.ts"

const queue = "mail"
const payload = (jid: string, args: ReadonlyArray<unknown> = [jid]) => job(jid, { queue, args })
const push = (jid: string, extra: Partial<Push> = {}): Push => ({
  queue,
  digest: "d1",
  jid,
  ttlMillis: 60_000,
  payload: payload(jid),
  at: undefined,
  debounce: false,
  ...extra,
})

export const uniqueConformance = roleSuite(
  "unique",
  JobStore,
  ["pushUnique", "releaseUnique", "uniqueLock"],
  ({ test, liveTest }) => {
    describe("unique", () => {
      test(
        "the first push holds the lock; a second is a duplicate naming it, and writes nothing",
        Effect.gen(function* () {
          const store = yield* Store
          assert.deepStrictEqual(yield* store.pushUnique(push("a")), { _tag: "Pushed" })
          assert.deepStrictEqual(yield* store.pushUnique(push("b")), { _tag: "Duplicate", jid: "a" })
          assert.deepStrictEqual(yield* store.queueRange(queue, 0, -1), [payload("a")])
          assert.include(yield* store.queues, queue)
          const lock = yield* store.uniqueLock(queue, "d1")
          assert.strictEqual(lock?.jid, "a")
          assert.isTrue((lock?.ttlMillis ?? 0) > 0 && (lock?.ttlMillis ?? 0) <= 60_000)
          // Another digest, or the same digest on another queue, is another lock.
          assert.deepStrictEqual(yield* store.pushUnique(push("c", { digest: "d2" })), { _tag: "Pushed" })
          assert.deepStrictEqual(
            yield* store.pushUnique(push("e", { queue: "other", payload: job("e", { queue: "other" }) })),
            { _tag: "Pushed" },
          )
          assert.strictEqual(yield* store.queueSize(queue), 2)
        }),
      )

      test(
        "a resend of the same push (same jid) writes nothing more",
        Effect.gen(function* () {
          const store = yield* Store
          assert.deepStrictEqual(yield* store.pushUnique(push("a")), { _tag: "Pushed" })
          assert.deepStrictEqual(yield* store.pushUnique(push("a")), { _tag: "Pushed" })
          assert.strictEqual(yield* store.queueSize(queue), 1)
        }),
      )

      test(
        "release is a compare-and-delete: only the holder's jid frees the lock",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.pushUnique(push("a"))
          assert.isFalse(yield* store.releaseUnique(queue, "d1", "b"))
          assert.strictEqual((yield* store.uniqueLock(queue, "d1"))?.jid, "a")
          assert.isTrue(yield* store.releaseUnique(queue, "d1", "a"))
          assert.isUndefined(yield* store.uniqueLock(queue, "d1"))
          assert.isFalse(yield* store.releaseUnique(queue, "d1", "a"))
          assert.deepStrictEqual(yield* store.pushUnique(push("b")), { _tag: "Pushed" })
          assert.strictEqual(yield* store.queueSize(queue), 2)
        }),
      )

      test(
        "concurrent pushes of one digest: exactly one is written",
        Effect.gen(function* () {
          const store = yield* Store
          const replies = yield* Effect.forEach(
            Array.from({ length: 50 }, (_, k) => `j${k}`),
            (jid) => store.pushUnique(push(jid)),
            { concurrency: "unbounded" },
          )
          const pushed = replies.filter((reply) => reply._tag === "Pushed")
          assert.strictEqual(pushed.length, 1)
          const holder = (yield* store.uniqueLock(queue, "d1"))?.jid
          for (const reply of replies) if (reply._tag === "Duplicate") assert.strictEqual(reply.jid, holder)
          assert.deepStrictEqual(yield* store.queueRange(queue, 0, -1), [payload(holder ?? "")])
        }),
      )

      test(
        "a scheduled unique job waits in schedule, holding its lock",
        Effect.gen(function* () {
          const store = yield* Store
          assert.deepStrictEqual(yield* store.pushUnique(push("a", { at: 2_000_000_000 })), { _tag: "Pushed" })
          assert.deepStrictEqual(yield* store.pushUnique(push("b", { at: 2_000_000_000 })), {
            _tag: "Duplicate",
            jid: "a",
          })
          assert.deepStrictEqual(yield* store.setRange("schedule", 0, -1), [
            { payload: payload("a"), score: 2_000_000_000 },
          ])
          assert.strictEqual(yield* store.queueSize(queue), 0)
        }),
      )

      test(
        "debounce: a later push replaces the waiting job's args and time, keeping its jid",
        Effect.gen(function* () {
          const store = yield* Store
          const debounced = (jid: string, args: ReadonlyArray<unknown>, at: number) =>
            push(jid, { payload: payload(jid, args), at, debounce: true })
          assert.deepStrictEqual(yield* store.pushUnique(debounced("a", [1], 2_000_000_000)), { _tag: "Pushed" })
          assert.deepStrictEqual(yield* store.pushUnique(debounced("b", [2], 2_000_000_005)), {
            _tag: "Replaced",
            jid: "a",
          })
          assert.deepStrictEqual(yield* store.pushUnique(debounced("c", [3], 2_000_000_009)), {
            _tag: "Replaced",
            jid: "a",
          })
          const scheduled = yield* store.setRange("schedule", 0, -1)
          assert.strictEqual(scheduled.length, 1)
          assert.strictEqual(scheduled[0]?.score, 2_000_000_009)
          const waiting = parse(scheduled[0]?.payload ?? "{}")
          assert.strictEqual(waiting.jid, "a")
          assert.deepStrictEqual(waiting.args, [3])
          assert.strictEqual((yield* store.uniqueLock(queue, "d1"))?.jid, "a")
        }),
      )

      test(
        "debounce: once the waiting job has left schedule, a later push is a new job holding the lock",
        Effect.gen(function* () {
          const store = yield* Store
          const debounced = (jid: string, at: number) => push(jid, { at, debounce: true })
          yield* store.pushUnique(debounced("a", 1_000))
          const [due] = yield* store.due("schedule", 1_000, 10)
          assert.strictEqual(yield* store.promote("schedule", [{ raw: due ?? "", payload: due ?? "", queue }], 0), 1)
          assert.deepStrictEqual(yield* store.pushUnique(debounced("b", 2_000)), { _tag: "Pushed" })
          assert.strictEqual((yield* store.uniqueLock(queue, "d1"))?.jid, "b")
          // The first job's release (when it starts) leaves the new holder's lock alone.
          assert.isFalse(yield* store.releaseUnique(queue, "d1", "a"))
          assert.deepStrictEqual(yield* store.setRange("schedule", 0, -1), [{ payload: payload("b"), score: 2_000 }])
        }),
      )

      liveTest(
        "a lock lapses at its ttl, whatever happened to its job",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.pushUnique(push("a", { ttlMillis: 150 }))
          assert.strictEqual((yield* store.uniqueLock(queue, "d1"))?.jid, "a")
          yield* store
            .uniqueLock(queue, "d1")
            .pipe(
              Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (lock) => lock === undefined }),
              Effect.timeout("10 seconds"),
            )
          assert.deepStrictEqual(yield* store.pushUnique(push("b")), { _tag: "Pushed" })
        }),
      )
    })
  },
)
