/**
 * The caller of the cross-process results test: `node --conditions=@verk/source caller.ts`, with
 * REDIS_URL, VERK_NAMESPACE, VERK_KEY_SCHEME and RESULT_CALLS from the environment. It makes that
 * many `Client.enqueueAndWait` calls at once and prints one JSON line: how many got their own
 * typed result, and what went wrong for the others.
 */
import { DateTime, Effect, Layer } from "effect"
import * as Client from "../../packages/core/src/Client.ts"
import * as JobResult from "../../packages/core/src/JobResult.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { Square } from "./squareWorker.ts"

const url = process.env.REDIS_URL
if (url === undefined || url === "") {
  console.error("caller: REDIS_URL is required")
  process.exit(2)
}
const calls = Number(process.env.RESULT_CALLS ?? "1000")
const store = RedisStore.layer({
  url,
  namespace: process.env.VERK_NAMESPACE,
  keyScheme: process.env.VERK_KEY_SCHEME === "cluster" ? "cluster" : "sidekiq",
})
const Live = Layer.mergeAll(Client.layer, JobResult.layer).pipe(Layer.provide(store))

const program = Effect.gen(function* () {
  const outcomes = yield* Effect.forEach(
    Array.from({ length: calls }, (_, index) => index),
    (n) =>
      Client.enqueueAndWait(Square, [n], { timeout: "60 seconds" }).pipe(
        Effect.map((result) =>
          result.n === n && result.square === n * n && DateTime.isDateTime(result.at) ? "ok" : "wrong",
        ),
        Effect.catch((error) => Effect.succeed(`${error._tag}: ${error.message}`)),
      ),
    { concurrency: "unbounded" },
  )
  const ok = outcomes.filter((outcome) => outcome === "ok").length
  const problems = outcomes.filter((outcome) => outcome !== "ok").slice(0, 5)
  console.log(JSON.stringify({ calls, ok, problems }))
})

program.pipe(Effect.provide(Live), Effect.runPromise).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  },
)
