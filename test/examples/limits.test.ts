/**
 * The README's limits example (limits.ts), its workers and queue limits in the testing kit's real
 * mode (the in-memory store, under TestClock): a customer's 6th sync in a second is snoozed while
 * another customer's runs, and it runs once the window has room.
 */
import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import * as Client from "../../packages/core/src/Client.ts"
import * as Testing from "../../packages/core/src/testing.ts"
import { queueLimits, RenderInvoice, SendMail, SyncCustomer } from "./limits.ts"

it.effect("a customer's 6th sync in a second is snoozed, another customer's runs, the 6th a second later", () =>
  Effect.gen(function* () {
    for (let revision = 1; revision <= 6; revision++) yield* Client.enqueue(SyncCustomer, ["acme", revision])
    yield* Client.enqueue(SyncCustomer, ["globex", 1])
    yield* Client.enqueue(RenderInvoice, ["inv-1"])
    yield* Client.enqueue(SendMail, ["grace@example.com"])
    yield* TestClock.adjust("10 millis")
    // acme's 6th waits in the schedule, its args as enqueued.
    const waiting = yield* Testing.scheduled
    assert.deepStrictEqual(
      waiting.map((job) => job.args),
      [["acme", 6]],
    )
    yield* TestClock.adjust("1200 millis")
    assert.lengthOf(yield* Testing.scheduled, 0)
    const events = yield* Testing.events
    assert.lengthOf(
      events.filter((event) => event._tag === "JobFinished"),
      9,
    )
    const snoozed = events.filter((event) => event._tag === "JobSnoozed")
    assert.deepStrictEqual(
      snoozed.map((event) => event.limit),
      ["crm:acme"],
    )
    assert.lengthOf(yield* Testing.retries, 0)
  }).pipe(Effect.provide(Testing.layerReal([SyncCustomer, RenderInvoice, SendMail], { queueLimits }))),
)
