/**
 * Acceptance (issue 21, job results) on every store kind: a worker with a `success` schema keeps
 * each job's encoded result, read by jid or waited for (`Client.result`, `Client.enqueueAndWait`)
 * and typed by its schemas; a wait on a job that dies fails with its death (the typed error when
 * the worker has an `error` schema); a worker with none keeps nothing. Under TestClock on the
 * in-memory store, a result is gone once its `keepResult` has passed.
 */
import { assert, it } from "@effect/vitest"
import { Context, DateTime, Effect, Exit, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as Client from "../../packages/core/src/Client.ts"
import * as JobResult from "../../packages/core/src/JobResult.ts"
import * as MemoryStore from "../../packages/core/src/MemoryStore.ts"
import { Store } from "../../packages/core/src/Store.ts"
import * as Verk from "../../packages/core/src/Verk.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { forEachStore, forJid, is, quietLogs, startNode, type TestStore } from "./support.ts"

class OutOfStock extends Schema.TaggedError<OutOfStock>()("OutOfStock", { item: Schema.String }) {}

const Quote = Schema.Struct({ item: Schema.String, cents: Schema.Int, at: Schema.DateTimeUtcFromMillis })

/** Prices an item: a typed result, a typed failure (no retries: it dies at once), or a defect. */
const Price = Worker.make({
  name: "Price",
  queue: "prices",
  args: Schema.Tuple([Schema.String]),
  success: Quote,
  error: OutOfStock,
  retry: false,
  keepResult: "1 hour",
  perform: ([item]) => {
    if (item === "none") return Effect.fail(new OutOfStock({ item }))
    if (item === "boom") return Effect.die(new Error("the pricing engine broke"))
    return Effect.map(
      Effect.clockWith((clock) => clock.currentTimeMillis),
      (now) => ({
        item,
        cents: item.length * 100,
        at: DateTime.makeUnsafe(now),
      }),
    )
  },
})

/** A worker with no `success` schema: its jobs keep nothing. */
const Plain = Worker.make({
  name: "Plain",
  queue: "prices",
  args: Schema.Tuple([Schema.String]),
  perform: () => Effect.succeed("ignored"),
})

const waiterOn = (store: TestStore) =>
  Layer.build(JobResult.layer.pipe(Layer.provide(Layer.succeedContext(store.context))))

it("waiting on a worker with no success schema does not type-check", () => {
  // Never run: the point is the compiler's refusal (`npm run check` fails if it accepts it).
  const wait = () =>
    // @ts-expect-error Plain keeps no result: Client.result takes workers made with `success`.
    Client.result(Plain, "j")
  assert.isFunction(wait)
})

forEachStore((kind) => {
  it.live(
    "enqueueAndWait gets the typed result, and result reads it again by jid",
    () =>
      Effect.gen(function* () {
        const store = yield* kind.open
        const node = yield* startNode(store, { queues: { prices: 5 } }, [Price, Plain])
        const waiter = yield* waiterOn(store)
        const quote = yield* Client.enqueueAndWait(Price, ["apples"], { jid: "q-1" }).pipe(
          Effect.provideService(Client.Client, node.client),
          Effect.provide(waiter),
        )
        // Typed by the schema: `at` is a DateTime, decoded from its wire form (epoch millis).
        assert.deepStrictEqual({ item: quote.item, cents: quote.cents }, { item: "apples", cents: 600 })
        assert.isTrue(typeof quote.at === "object" && "epochMilliseconds" in quote.at)
        const again = yield* Client.result(Price, "q-1").pipe(Effect.provide(waiter))
        assert.deepStrictEqual(again, quote)
        const raw = JSON.parse((yield* store.store.readResult("q-1")) ?? "null")
        assert.deepStrictEqual(raw, { status: "succeeded", value: { item: "apples", cents: 600, at: raw.value.at } })
        assert.isNumber(raw.value.at)
      }).pipe(Effect.scoped, quietLogs),
    20_000,
  )

  it.live(
    "a wait on a job that dies fails with its typed error, or with JobDied for a defect",
    () =>
      Effect.gen(function* () {
        const store = yield* kind.open
        const node = yield* startNode(store, { queues: { prices: 5 } }, [Price])
        const waiter = yield* waiterOn(store)
        const wait = (item: string) =>
          Client.enqueueAndWait(Price, [item]).pipe(
            Effect.provideService(Client.Client, node.client),
            Effect.provide(waiter),
            Effect.flip,
          )
        const failed = yield* wait("none")
        assert.strictEqual(failed._tag, "JobFailed")
        if (failed._tag === "JobFailed") {
          // The worker's own error class, decoded from the result.
          assert.instanceOf(failed.error, OutOfStock)
          assert.strictEqual(failed.error.item, "none")
        }
        const died = yield* wait("boom")
        assert.strictEqual(died._tag, "JobDied")
        if (died._tag === "JobDied") assert.include(died.errorMessage, "the pricing engine broke")
        // Both land in the dead set too, as before (the result is written just before the outcome).
        yield* node.events.await(is("JobDead"), 2)
        assert.strictEqual(yield* store.store.setSize("dead"), 2)
      }).pipe(Effect.scoped, quietLogs),
    20_000,
  )

  it.live(
    "a worker with no success schema keeps nothing; a wait with a timeout on it ends with ResultTimeout",
    () =>
      Effect.gen(function* () {
        const store = yield* kind.open
        const node = yield* startNode(store, { queues: { prices: 5 } }, [Plain])
        const waiter = yield* waiterOn(store)
        const job = yield* node.client.enqueue(Plain, ["x"])
        yield* node.events.await(forJid("JobFinished", job.jid))
        assert.isUndefined(yield* store.store.readResult(job.jid))
        // Price's result of a jid nobody runs: the wait gives up at its timeout.
        const timedOut = yield* Client.result(Price, "never-enqueued", { timeout: "100 millis" }).pipe(
          Effect.provide(waiter),
          Effect.flip,
        )
        assert.strictEqual(timedOut._tag, "ResultTimeout")
      }).pipe(Effect.scoped, quietLogs),
    20_000,
  )
})

it.effect("MemoryStore under TestClock: a result is kept for keepResult, then gone", () =>
  Effect.gen(function* () {
    const context = yield* Layer.build(Layer.fresh(MemoryStore.layer))
    const store = Context.get(context, Store)
    const runtime = yield* Layer.build(
      Verk.layer({ workers: [Price], queues: { prices: 1 }, logLevels: { start: "None", done: "None" } }).pipe(
        Layer.provideMerge(Layer.succeedContext(context)),
        Layer.provideMerge(JobResult.layer.pipe(Layer.provide(Layer.succeedContext(context)))),
      ),
    )
    const quote = yield* Client.enqueueAndWait(Price, ["pears"], { jid: "kept" }).pipe(Effect.provide(runtime))
    assert.strictEqual(quote.cents, 500)
    yield* TestClock.adjust("59 minutes")
    assert.isDefined(yield* store.readResult("kept"))
    const read = yield* Effect.exit(Client.result(Price, "kept", { timeout: "1 second" }).pipe(Effect.provide(runtime)))
    assert.isTrue(Exit.isSuccess(read))
    yield* TestClock.adjust("1 minute")
    assert.isUndefined(yield* store.readResult("kept"))
  }).pipe(Effect.scoped, quietLogs),
)
