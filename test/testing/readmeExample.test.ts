import { assert, it } from "@effect/vitest"
import { Client, Worker } from "@verk/core"
import * as Testing from "@verk/core/testing"
import { Effect, Schema } from "effect"
import { TestClock } from "effect/testing"

const SendInvoice = Worker.make({
  name: "SendInvoice",
  args: Schema.Tuple([Schema.String, Schema.Int]), // [customer, cents]
  perform: ([customer, cents]) => Effect.log(`invoice ${customer}: ${cents}`),
})

it.effect("fake mode: assert what was enqueued, then drain it", () =>
  Effect.gen(function* () {
    yield* Client.enqueue(SendInvoice, ["acme", 4200])
    yield* Testing.assertEnqueued(SendInvoice, ["acme", 4200])
    assert.strictEqual(yield* Testing.drain(SendInvoice), 1)
  }).pipe(Effect.provide(Testing.layerFake([SendInvoice]))),
)

it.effect("real mode: a job scheduled for tomorrow runs when the TestClock gets there", () =>
  Effect.gen(function* () {
    yield* Client.schedule(SendInvoice, ["acme", 100], "1 day")
    yield* TestClock.adjust("23 hours")
    assert.lengthOf(yield* Testing.scheduled, 1)
    yield* TestClock.adjust("1 hour")
    const events = yield* Testing.events
    assert.isTrue(events.some((event) => event._tag === "JobFinished" && event.className === "SendInvoice"))
  }).pipe(Effect.provide(Testing.layerReal([SendInvoice]))),
)
