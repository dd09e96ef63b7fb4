/**
 * A cancel ends a job for good, so what waits on its end hears of it: its unique lock is freed (a
 * new enqueue of the same key is taken), whether it waited or ran, and the result waiters of a
 * running one fail with `JobCancelled`, on every store kind.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Schema } from "effect"
import * as Cancel from "../../packages/core/src/Cancel.ts"
import * as Client from "../../packages/core/src/Client.ts"
import * as Inspection from "../../packages/core/src/Inspection.ts"
import * as JobResult from "../../packages/core/src/JobResult.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { forEachStore, forJid, is, quietLogs, startNode } from "./support.ts"

const Export = Worker.make({
  name: "CancelEndsExport",
  args: Schema.Tuple([Schema.String]),
  success: Schema.Number,
  perform: () => Effect.as(Effect.sleep("1 hour"), 1),
})

/** Its jobs wait: the test's node serves `default` only. */
const Parked = Worker.make({
  name: "CancelEndsParked",
  queue: "parked",
  args: Schema.Tuple([Schema.String]),
  perform: () => Effect.void,
})

forEachStore((kind) => {
  it.live("a waiting job cancelled (taken out of its queue) frees its unique lock", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const node = yield* startNode(store, { queues: { default: 1 } }, [Export, Parked])
      const first = yield* node.client.enqueueUnique(Parked, ["acme"])
      assert.strictEqual(first._tag, "Enqueued")
      const jid = first._tag === "Enqueued" ? first.job.jid : ""
      const holder = Inspection.UniqueLocks.of(Parked, ["acme"]).pipe(Effect.provide(store.context))
      assert.strictEqual((yield* holder)?.jid, jid)
      const answer = yield* Cancel.cancel(jid).pipe(Effect.provide(store.context))
      assert.deepStrictEqual(answer, { _tag: "Removed", jid, from: "queue", queue: "parked" })
      assert.isUndefined(yield* holder)
      assert.strictEqual((yield* node.client.enqueueUnique(Parked, ["acme"]))._tag, "Enqueued")
    }).pipe(Effect.scoped, quietLogs),
  )

  it.live(
    "a job cancelled while it runs frees its unique lock and fails its result waiters with JobCancelled",
    () =>
      Effect.gen(function* () {
        const store = yield* kind.open
        // The second job sleeps on when the test ends: the node puts it back rather than wait for it.
        const node = yield* startNode(store, { queues: { default: 2 }, shutdownTimeout: "10 millis" }, [Export])
        const waiter = yield* Layer.build(JobResult.layer.pipe(Layer.provide(Layer.succeedContext(store.context))))
        const first = yield* node.client.enqueueUnique(Export, ["acme"])
        assert.strictEqual(first._tag, "Enqueued")
        const jid = first._tag === "Enqueued" ? first.job.jid : ""
        const waiting = yield* Client.result(Export, jid).pipe(Effect.provide(waiter), Effect.flip, Effect.forkScoped)
        yield* node.events.await(forJid("JobStarted", jid))
        const holder = Inspection.UniqueLocks.of(Export, ["acme"]).pipe(Effect.provide(store.context))
        assert.strictEqual((yield* holder)?.jid, jid)

        const answer = yield* Cancel.cancel(jid).pipe(Effect.provide(store.context))
        assert.strictEqual(answer._tag, "Interrupted")
        const failed = yield* Fiber.join(waiting)
        assert.strictEqual(failed._tag, "JobCancelled")
        yield* node.events.await(is("JobCancelled", (event) => event.jid === jid))
        assert.isUndefined(yield* holder, "the lock is free once the cancel is written")
        const again = yield* node.client.enqueueUnique(Export, ["acme"])
        assert.strictEqual(again._tag, "Enqueued")
      }).pipe(Effect.scoped, quietLogs),
    20_000,
  )
})
