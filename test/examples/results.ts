// results.ts: a worker whose jobs keep a result, and a caller that waits for it (here in one process;
// any process with `Client.layer` and `JobResult.layer` on the same Redis may wait).
import { NodeRuntime } from "@effect/platform-node"
import { Client, JobResult, Verk, Worker } from "@verk/core"
import { RedisStore } from "@verk/redis"
import { Effect, Layer, Schema } from "effect"

class OutOfStock extends Schema.TaggedError<OutOfStock>()("OutOfStock", { sku: Schema.String }) {}

export const Quote = Worker.make({
  name: "Quote",
  args: Schema.Tuple([Schema.String, Schema.Int]), // [sku, quantity]
  success: Schema.Struct({ sku: Schema.String, cents: Schema.Int }), // what `perform` returns, kept
  error: OutOfStock, // a job that dies of it gives it back to its waiters, typed
  keepResult: "1 hour", // one day when absent
  retry: false,
  perform: ([sku, quantity]) =>
    sku === "gone" ? Effect.fail(new OutOfStock({ sku })) : Effect.succeed({ sku, cents: 250 * quantity }),
})

const Live = Verk.layer({ workers: [Quote], queues: { default: 5 } }).pipe(
  Layer.provideMerge(JobResult.layer), // the waiter: one subscription, whatever the number of waits
  Layer.provideMerge(RedisStore.layerConfig),
)

const program = Effect.gen(function* () {
  // Enqueue, then wait for the result: typed by the worker's `success` schema.
  const quote = yield* Client.enqueueAndWait(Quote, ["tea", 3], { timeout: "30 seconds" })
  yield* Effect.log(`tea x3: ${quote.cents} cents`)
  // Or wait by jid, in any process: a job that died fails the wait with its error.
  const job = yield* Client.enqueue(Quote, ["gone", 1])
  yield* Client.result(Quote, job.jid, { timeout: "30 seconds" }).pipe(
    Effect.catchTag("JobFailed", (failed) => Effect.log(`out of stock: ${failed.error.sku}`)),
  )
})

program.pipe(Effect.provide(Live), NodeRuntime.runMain)
