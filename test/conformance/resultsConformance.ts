/**
 * The store conformance suite of the results role (`Store.ResultStore`): a job's result record,
 * kept for its time, and the notice of its write that result waiters hear. Run on every store kind
 * by memoryStore.test.ts, redisStore.test.ts and the cluster's conformance test.
 */
import { assert, describe } from "@effect/vitest"
import { Effect, Queue, Stream } from "effect"
import { type ResultNotice, ResultStore, Store } from "../../packages/core/src/Store.ts"
import { NotificationWait, roleSuite } from "./conformanceSupport.ts"

export const resultsConformance = roleSuite(
  "results",
  ResultStore,
  ["writeResult", "readResult", "resultNotices"],
  ({ test, liveTest }) => {
    describe("results", () => {
      test(
        "a result is read back by its jid; a jid with none reads undefined; a second write replaces the first",
        Effect.gen(function* () {
          const store = yield* Store
          assert.isUndefined(yield* store.readResult("j1"))
          yield* store.writeResult("j1", '{"status":"succeeded","value":1}', 60_000)
          yield* store.writeResult("j2", '{"status":"succeeded","value":"é \\u0000 ☃"}', 60_000)
          assert.strictEqual(yield* store.readResult("j1"), '{"status":"succeeded","value":1}')
          assert.strictEqual(yield* store.readResult("j2"), '{"status":"succeeded","value":"é \\u0000 ☃"}')
          yield* store.writeResult("j1", '{"status":"succeeded","value":2}', 60_000)
          assert.strictEqual(yield* store.readResult("j1"), '{"status":"succeeded","value":2}')
          assert.isUndefined(yield* store.readResult("j3"))
        }),
      )

      liveTest(
        "a result is gone once its time has passed, and one kept longer is still there",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.writeResult("short", "{}", 100)
          yield* store.writeResult("long", "{}", 60_000)
          assert.strictEqual(yield* store.readResult("short"), "{}")
          // Expiry is the store's (Redis's PX, the memory store's clock): look until it is gone.
          let kept = yield* store.readResult("short")
          for (let look = 0; kept !== undefined && look < 250; look++) {
            yield* Effect.sleep("20 millis")
            kept = yield* store.readResult("short")
          }
          assert.isUndefined(kept, "the result outlived its time by 5 s")
          assert.strictEqual(yield* store.readResult("long"), "{}")
        }),
      )

      liveTest(
        "a write is announced to a live subscription as Done with its jid, in write order",
        Effect.gen(function* () {
          const store = yield* Store
          const received = yield* Queue.unbounded<ResultNotice>()
          const notices = yield* store.resultNotices
          yield* notices.pipe(
            Stream.runForEach((notice) => Queue.offer(received, notice)),
            Effect.forkScoped,
          )
          // The subscription is live once `resultNotices` returned: no probe needed.
          yield* store.writeResult("a", "{}", 60_000)
          yield* store.writeResult("b", "{}", 60_000)
          const got = yield* Effect.all([Queue.take(received), Queue.take(received)]).pipe(
            Effect.timeoutOrElse({
              duration: NotificationWait,
              orElse: () => Effect.sync(() => assert.fail("the notices of two writes did not arrive")),
            }),
          )
          assert.deepStrictEqual(got, [
            { _tag: "Done", jid: "a" },
            { _tag: "Done", jid: "b" },
          ])
        }),
      )
    })
  },
)
