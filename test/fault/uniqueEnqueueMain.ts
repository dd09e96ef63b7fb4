/**
 * A client process for the unique-enqueue test: `node --conditions=@verk/source
 * test/fault/uniqueEnqueueMain.ts`, with REDIS_URL, VERK_KEY_SCHEME (`sidekiq` or `cluster`) and
 * VERK_ENQUEUES (how many). Connects, says `ready`, waits for a line on stdin (the go signal, so
 * every process enqueues at once), then makes that many concurrent unique enqueues of one job and
 * prints their results as one JSON line.
 */
import { createInterface } from "node:readline"
import { Effect, Layer, Schema } from "effect"
import * as Client from "../../packages/core/src/Client.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"

const url = process.env.REDIS_URL
if (url === undefined || url === "") {
  console.error("uniqueEnqueueMain: REDIS_URL is required")
  process.exit(2)
}
const keyScheme = process.env.VERK_KEY_SCHEME === "cluster" ? "cluster" : "sidekiq"
const count = Number(process.env.VERK_ENQUEUES ?? "25")

/** The job every process enqueues: one class, one queue, one args. */
export const Nightly = Worker.make({
  name: "Nightly",
  queue: "reports",
  args: Schema.Tuple([Schema.String]),
  perform: () => Effect.void,
})

const go = new Promise<void>((done) => {
  const lines = createInterface({ input: process.stdin })
  lines.once("line", () => done())
  // The test runner is gone before the go signal: do not linger.
  lines.once("close", () => process.exit(3))
})

const program = Effect.gen(function* () {
  const client = yield* Client.Client
  console.log("ready")
  yield* Effect.promise(() => go)
  const results = yield* Effect.forEach(
    Array.from({ length: count }),
    () => client.enqueueUnique(Nightly, ["2026-12-07"]),
    { concurrency: "unbounded" },
  )
  console.log(
    JSON.stringify(results.map((result) => [result._tag, result._tag === "Duplicate" ? result.jid : result.job.jid])),
  )
})

Effect.runPromise(
  program.pipe(Effect.provide(Client.layer.pipe(Layer.provide(RedisStore.layer({ url, keyScheme }))))),
).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  },
)
