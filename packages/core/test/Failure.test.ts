import { assert, describe, it } from "@effect/vitest"
import { Cause, Data, Schema } from "effect"
import { describeFailure, MaxFieldLength } from "../src/internal/Failure.ts"
import * as Job from "../src/Job.ts"
import * as Worker from "../src/Worker.ts"

const failed = (error: unknown) => describeFailure(Cause.fail(error))
const text = (error: unknown) => {
  const { errorClass, message } = failed(error)
  return `${errorClass}: ${message}`
}

class MailError extends Data.TaggedError("MailError")<{ readonly reason: string; readonly to: string }> {}
class HttpError extends Data.TaggedError("HttpError")<{ readonly message: string; readonly status: number }> {}
class Boom extends Data.TaggedError("Boom")<{ readonly attempt: number }> {
  override get message() {
    return `attempt ${this.attempt} failed`
  }
}
class Loose extends Data.TaggedError("Loose")<{ readonly value: unknown }> {}
class SchemaError extends Schema.TaggedError<SchemaError>()("SchemaError", { code: Schema.String }) {}

describe("describeFailure: a tagged error keeps its words", () => {
  it("an error with no message of its own shows its fields, in their order; the class is its tag", () => {
    const failure = failed(new MailError({ reason: "bounced", to: "ada@example.com" }))
    assert.strictEqual(failure.errorClass, "MailError")
    assert.strictEqual(failure.message, "reason: bounced, to: ada@example.com")
    assert.isNotEmpty(failure.backtrace ?? [], "a tagged error is an Error: its stack is kept")
  })

  it("an error with a message shows it, then the fields it does not already show", () => {
    assert.strictEqual(text(new HttpError({ message: "Not found", status: 404 })), "HttpError: Not found (status: 404)")
    assert.strictEqual(text(new Boom({ attempt: 3 })), "Boom: attempt 3 failed")
    assert.strictEqual(
      text(new Worker.InvalidJobArgs({ worker: "Charge", reason: "bad" })),
      "InvalidJobArgs: Invalid args for Charge: bad",
    )
    assert.strictEqual(
      text(new Worker.UnknownJobClass({ className: "Nope" })),
      'UnknownJobClass: No worker is registered for job class "Nope"',
    )
    assert.strictEqual(text(new SchemaError({ code: "E42" })), "SchemaError: code: E42")
  })

  it("an error with neither message nor fields shows its tag, and Effect's own errors their message", () => {
    class Empty extends Data.TaggedError("Empty") {}
    assert.strictEqual(text(new Empty()), "Empty: Empty")
    assert.strictEqual(text(new Cause.NoSuchElementError()), "NoSuchElementError: NoSuchElementError")
    assert.strictEqual(text(new Cause.TimeoutError("Operation timed out")), "TimeoutError: Operation timed out")
  })

  it("a tagged plain object shows its fields like a tagged error", () => {
    assert.strictEqual(
      text({ _tag: "Declined", code: "card_declined", amount: 100 }),
      "Declined: code: card_declined, amount: 100",
    )
  })

  it("field values: objects as JSON, dates as ISO, bigints, empty strings, errors by class and message", () => {
    assert.strictEqual(text(new Loose({ value: { a: [1, 2] } })), 'Loose: value: {"a":[1,2]}')
    assert.strictEqual(text(new Loose({ value: new Date(0) })), "Loose: value: 1970-01-01T00:00:00.000Z")
    assert.strictEqual(text(new Loose({ value: 10n ** 20n })), "Loose: value: 100000000000000000000")
    assert.strictEqual(text(new Loose({ value: { big: 1n } })), 'Loose: value: {"big":"1"}')
    assert.strictEqual(text(new Loose({ value: "" })), 'Loose: value: ""')
    assert.strictEqual(text(new Loose({ value: null })), "Loose: value: null")
    assert.strictEqual(text(new Loose({ value: new TypeError("nope") })), "Loose: value: TypeError: nope")
  })

  it("a cause is shown, described like the error itself", () => {
    const cause = new MailError({ reason: "bounced", to: "ada@example.com" })
    assert.strictEqual(
      text(new Worker.Unrecoverable({ reason: "account closed", cause })),
      "Unrecoverable: account closed (cause: MailError: reason: bounced, to: ada@example.com)",
    )
  })

  it("is total: throwing getters, cycles, cyclic causes and hostile proxies still get a description", () => {
    const hostile = new Loose({ value: 1 })
    Object.defineProperty(hostile, "secret", {
      enumerable: true,
      get() {
        throw new Error("no")
      },
    })
    assert.strictEqual(text(hostile), "Loose: value: 1, secret: [unreadable]")

    const cyclic: Record<string, unknown> = { name: "loop" }
    cyclic.self = cyclic
    assert.strictEqual(text(new Loose({ value: cyclic })), 'Loose: value: {"name":"loop","self":"[Circular]"}')

    const selfCaused = new Worker.Unrecoverable({ reason: "again", cause: new Error("x") })
    Object.defineProperty(selfCaused, "cause", { value: selfCaused })
    assert.strictEqual(
      text(selfCaused),
      "Unrecoverable: again (cause: Unrecoverable: again (cause: Unrecoverable: again (cause: Unrecoverable)))",
      "a cyclic cause stops at a bounded depth",
    )

    const proxy = new Proxy(new Loose({ value: 1 }), {
      ownKeys: () => {
        throw new Error("ownKeys")
      },
    })
    assert.strictEqual(failed(proxy).errorClass, "Loose")
    const noTag = new Proxy(
      {},
      {
        get: () => {
          throw new Error("get")
        },
      },
    )
    assert.isString(failed(noTag).message)
  })

  it("is bounded: one long field is cut, and the whole message never passes MaxErrorMessageLength", () => {
    const long = failed(new Loose({ value: "x".repeat(10_000) })).message
    assert.strictEqual(long.length, "value: ".length + MaxFieldLength)
    assert.isTrue(long.endsWith("..."))

    const many: Record<string, unknown> = { _tag: "Many" }
    for (let i = 0; i < 500; i++) many[`field${i}`] = "y".repeat(50)
    const message = failed(many).message
    assert.isAtMost(message.length, Job.MaxErrorMessageLength)
    assert.isTrue(message.startsWith("field0: yyy"))

    const wordy = failed(new HttpError({ message: "m".repeat(5_000), status: 500 })).message
    assert.strictEqual(wordy.length, Job.MaxErrorMessageLength)
  })
})

describe("describeFailure: plain errors and other values keep today's text", () => {
  it("a plain Error: its name and message, or its name when the message is empty", () => {
    assert.strictEqual(text(new Error("boom")), "Error: boom")
    assert.strictEqual(text(new RangeError("")), "RangeError: RangeError")
    assert.strictEqual(text(Object.assign(new Error("with code"), { code: "ECONNREFUSED" })), "Error: with code")
  })

  it("a string as it is, anything else as JSON", () => {
    assert.deepStrictEqual(failed("just text"), { errorClass: "Error", message: "just text" })
    assert.deepStrictEqual(failed({ code: 1 }), { errorClass: "Error", message: '{"code":1}' })
    assert.deepStrictEqual(failed(42), { errorClass: "Error", message: "42" })
  })

  it("a defect is described like a failure", () => {
    const failure = describeFailure(Cause.die(new MailError({ reason: "bounced", to: "ada@example.com" })))
    assert.strictEqual(`${failure.errorClass}: ${failure.message}`, "MailError: reason: bounced, to: ada@example.com")
  })
})
