/**
 * The README's error tracker example (errorTracker.ts): a failing job's retry and its death each
 * reach the `Tracker` with the error's class, message and stack trace and the job's args.
 */
import { assert, it } from "@effect/vitest"
import { Client, Worker } from "@verk/core"
import * as Testing from "@verk/core/testing"
import { Data, Effect, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { ForwardFailures, type Report, Tracker } from "./errorTracker.ts"

class PaymentDeclined extends Data.TaggedError("PaymentDeclined")<{ readonly message: string }> {}

const Charge = Worker.make({
  name: "Charge",
  args: Schema.Tuple([Schema.String, Schema.Int]),
  retry: 1,
  perform: ([card]) => Effect.fail(new PaymentDeclined({ message: `card ${card} declined` })),
})

it.effect("a retry and then a death reach the tracker, with the error's stack and the job's args", () => {
  const reports: Array<Report> = []
  const tracker = Layer.succeed(Tracker, { capture: (report) => Effect.sync(() => reports.push(report)) })
  return Effect.gen(function* () {
    const job = yield* Client.enqueue(Charge, ["4242", 500])
    yield* TestClock.adjust("1 second")
    yield* TestClock.adjust("1 hour") // past the retry's backoff: it runs again, and dies
    assert.lengthOf(reports, 3) // JobFailed (retry), JobFailed (last run), JobDead
    const retried = reports[0]
    const dead = reports.find((report) => report.tags.dead)
    assert.deepStrictEqual(retried?.tags, { queue: "default", class: "Charge", jid: job.jid, dead: false })
    assert.strictEqual(retried?.errorClass, "PaymentDeclined")
    assert.strictEqual(retried?.message, "card 4242 declined")
    assert.isTrue(retried?.backtrace?.some((line) => line.includes("errorTracker.test.ts")))
    assert.deepStrictEqual(retried?.extra, { args: ["4242", 500], enqueuedAt: 0 })
    assert.deepStrictEqual(dead?.tags, { queue: "default", class: "Charge", jid: job.jid, dead: true })
    assert.strictEqual(dead?.errorClass, "PaymentDeclined")
  }).pipe(
    Effect.provide(
      ForwardFailures.pipe(
        Layer.provideMerge(Testing.layerReal([Charge], { logLevels: { start: "None", done: "None", fail: "None" } })),
        Layer.provide(tracker),
      ),
    ),
  )
})
