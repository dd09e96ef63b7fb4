/**
 * The testing kit, on a sample app, in its three modes: no Redis, no real sleeping.
 */
import { assert, describe, it } from "@effect/vitest"
import { Client } from "@verk/core"
import * as Testing from "@verk/core/testing"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { makeApp } from "./sampleApp.ts"

const app = Effect.runSync(makeApp)
const { SendWelcome, SignUp, FlakyExport, Remind, Forever } = app.workers
const allWorkers = [SendWelcome, SignUp, FlakyExport, Remind, Forever]

describe("fake mode", () => {
  const FakeLayer = Testing.layerFake(allWorkers)

  it.effect("keeps jobs per worker and drains them, including jobs that jobs enqueue", () =>
    Effect.gen(function* () {
      yield* Client.enqueue(SignUp, ["ada@example.com"])
      yield* Testing.assertEnqueued(SignUp, ["ada@example.com"])
      assert.strictEqual((yield* Testing.enqueued(SignUp)).length, 1)
      assert.strictEqual((yield* Testing.enqueued(SendWelcome)).length, 0)
      assert.strictEqual(yield* Testing.drain(SignUp), 1)
      assert.deepStrictEqual(
        (yield* Testing.enqueued(SendWelcome)).map(({ args }) => args),
        [["ada@example.com"]],
      )
      assert.strictEqual(yield* Testing.drainAll, 1)
      assert.includeMembers([...(yield* app.log)], ["signup ada@example.com", "welcome ada@example.com"])
    }).pipe(Effect.provide(FakeLayer)),
  )

  it.effect("keeps a job scheduled for tomorrow with its time, and drains it without waiting", () =>
    Effect.gen(function* () {
      yield* Client.schedule(Remind, ["renew"], "1 day")
      const [job] = yield* Testing.enqueued(Remind)
      assert.strictEqual(job?.at, 86_400)
      yield* Testing.drain(Remind)
      assert.include([...(yield* app.log)], "remind renew")
    }).pipe(Effect.provide(FakeLayer)),
  )

  it.effect("drain surfaces a job's failure", () =>
    Effect.gen(function* () {
      yield* Client.enqueue(FlakyExport, [7])
      const error = yield* Effect.flip(Testing.drain(FlakyExport))
      assert.strictEqual(error._tag, "JobFailure")
      assert.include(error.message, "storage busy")
    }).pipe(Effect.provide(FakeLayer)),
  )

  it.effect("misuse: an unregistered worker, an endless chain, args that fail the schema", () =>
    Effect.gen(function* () {
      const unregistered = yield* Effect.flip(Testing.drain(SignUp))
      assert.strictEqual(unregistered._tag, "UnknownJobClass")
      yield* Client.enqueue(Forever, [0])
      const endless = yield* Effect.flip(Testing.drainAll)
      assert.strictEqual(endless._tag, "EndlessJobChain")
      assert.include(endless.message, "enqueuing itself")
      const invalid = yield* Effect.flip(Client.enqueue(Remind, [42 as unknown as string]))
      assert.strictEqual(invalid._tag, "InvalidJobArgs")
      const missing = yield* Effect.flip(Testing.assertEnqueued(Forever, [999]))
      assert.strictEqual(missing._tag, "NotEnqueued")
    }).pipe(Effect.provide(Testing.layerFake([Forever, Remind], { drainLimit: 50 }))),
  )
})

describe("inline mode", () => {
  const InlineLayer = Testing.layerInline(allWorkers)

  it.effect("runs a job and the jobs it enqueues when it is enqueued", () =>
    Effect.gen(function* () {
      yield* Client.enqueue(SignUp, ["grace@example.com"])
      const log = yield* app.log
      assert.includeMembers([...log], ["signup grace@example.com", "welcome grace@example.com"])
      yield* Client.schedule(Remind, ["tomorrow"], "1 day")
      assert.include([...(yield* app.log)], "remind tomorrow")
    }).pipe(Effect.provide(InlineLayer)),
  )

  it.effect("a job's failure is the enqueuer's failure", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Client.enqueue(FlakyExport, [8]))
      assert.isTrue(exit._tag === "Failure")
      if (exit._tag === "Failure") assert.include(String(exit.cause), "storage busy")
    }).pipe(Effect.provide(InlineLayer)),
  )
})

describe("real mode", () => {
  it.effect("retries and scheduled jobs run when TestClock moves, with no real waiting", () =>
    Effect.gen(function* () {
      yield* Client.enqueue(SignUp, ["linus@example.com"])
      yield* Client.enqueue(FlakyExport, [9])
      yield* Client.schedule(Remind, ["standup"], "1 day")
      yield* TestClock.adjust("1 second")
      assert.includeMembers([...(yield* app.log)], ["signup linus@example.com", "welcome linus@example.com"])
      const [retry] = yield* Testing.retries
      assert.strictEqual(retry?.class, "FlakyExport")
      assert.strictEqual(retry?.retry_count, 0)
      yield* TestClock.adjust("30 seconds")
      assert.include([...(yield* app.log)], "export 9 on retry 0")
      assert.notInclude([...(yield* app.log)], "remind standup")
      yield* TestClock.adjust("1 day")
      assert.include([...(yield* app.log)], "remind standup")
      const events = yield* Testing.events
      assert.isTrue(events.some((event) => event._tag === "JobFailed" && event.className === "FlakyExport"))
      assert.strictEqual(events.filter((event) => event._tag === "JobFinished").length, 4)
      assert.lengthOf(yield* Testing.dead, 0)
    }).pipe(Effect.provide(Testing.layerReal(allWorkers))),
  )
})
