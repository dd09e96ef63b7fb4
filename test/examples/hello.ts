import { NodeRuntime } from "@effect/platform-node"
import { Client, Verk, Worker } from "@verk/core"
import { RedisStore } from "@verk/redis"
import { Effect, Layer, Schema } from "effect"

// A job class: its wire name, a Schema for its args, and what it does.
export const SendEmail = Worker.make({
  name: "SendEmail", // Sidekiq's `class`
  args: Schema.Tuple([Schema.String, Schema.String]), // [to, subject]
  queue: "mail",
  timeout: "30 seconds",
  perform: ([to, subject]) => Effect.log(`mail ${to}: ${subject}`),
})

// The workers, the queues this process runs, and the store (REDIS_URL, default 127.0.0.1:6379).
const Live = Verk.layer({ workers: [SendEmail], queues: { default: 25, mail: 5 } }).pipe(
  Layer.provideMerge(RedisStore.layerConfig),
)

const program = Effect.gen(function* () {
  yield* Client.enqueue(SendEmail, ["ada@example.com", "Welcome"]) // type-checked and validated
  yield* Client.schedule(SendEmail, ["ada@example.com", "Day 2"], "1 day")
  yield* Effect.never // the layer's scope runs the queues; closing it shuts down gracefully
})

// Ctrl-C / SIGTERM interrupts: running jobs finish (or go back to their queue), then exit.
program.pipe(Effect.provide(Live), NodeRuntime.runMain)
