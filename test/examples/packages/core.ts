// A job class, and a program that enqueues it, run in memory by the testing kit's inline mode.
import { Client, Worker } from "@verk/core"
import * as Testing from "@verk/core/testing"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

// Its wire name (Sidekiq's `class`), a Schema for its args, its queue, and what it does.
export const SendEmail = Worker.make({
  name: "SendEmail",
  args: Schema.Tuple([Schema.String, Schema.String]), // [to, subject]
  queue: "mail",
  perform: ([to, subject]) => Effect.log(`mail ${to}: ${subject}`),
})

// `enqueue` checks the args against the worker's schema; inline mode then runs the job at once.
const program = Client.enqueue(SendEmail, ["ada@example.com", "Welcome"])

Effect.runPromise(program.pipe(Effect.provide(Testing.layerInline([SendEmail]))))
