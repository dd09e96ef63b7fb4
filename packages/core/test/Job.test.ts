import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Result } from "effect"
import * as Job from "../src/Job.ts"

describe("Job wire format", () => {
  it.effect("decodes Sidekiq's form with nested args and keeps unknown keys", () =>
    Effect.gen(function* () {
      const raw = JSON.stringify({
        class: "HardWorker",
        queue: "default",
        args: [1, "two", [], {}, [{ a: [1, { b: null }] }]],
        jid: "b4a577edbccf1d805744efa9",
        retry: true,
        created_at: 1_700_000_000.123,
        enqueued_at: 1_700_000_000.456,
        tags: ["x"],
        bid: "batch-1",
      })
      const job = yield* Job.decode(raw)
      assert.deepStrictEqual(job.args, [1, "two", [], {}, [{ a: [1, { b: null }] }]])
      assert.deepStrictEqual(job.tags, ["x"])
      assert.strictEqual(job.bid, "batch-1")
      assert.deepStrictEqual(JSON.parse(Job.encode(job)), JSON.parse(raw))
    }),
  )

  it.effect("accepts Verk's string-wrapped args and decimal jid", () =>
    Effect.gen(function* () {
      const job = yield* Job.decode(
        JSON.stringify({ class: "V", queue: "q", args: '[1,{"a":[]}]', jid: "123456789", retry: 5 }),
      )
      assert.deepStrictEqual(job.args, [1, { a: [] }])
      assert.strictEqual(job.jid, "123456789")
      assert.strictEqual(Job.retryLimit(job), 5)
      assert.deepStrictEqual(JSON.parse(Job.encode(job)).args, [1, { a: [] }])
    }),
  )

  it.effect("reads integer seconds, float seconds and Sidekiq 8 milliseconds as seconds", () =>
    Effect.gen(function* () {
      const base = { class: "C", queue: "q", args: [], jid: "j" }
      const ints = yield* Job.decode(JSON.stringify({ ...base, created_at: 1_700_000_000 }))
      const floats = yield* Job.decode(JSON.stringify({ ...base, created_at: 1_700_000_000.25 }))
      const millis = yield* Job.decode(JSON.stringify({ ...base, created_at: 1_700_000_000_250, enqueued_at: 1 }))
      assert.strictEqual(ints.created_at, 1_700_000_000)
      assert.strictEqual(floats.created_at, 1_700_000_000.25)
      assert.strictEqual(millis.created_at, 1_700_000_000.25)
      assert.strictEqual(millis.enqueued_at, 1)
    }),
  )

  it.effect("honours max_retry_count and retry: false", () =>
    Effect.gen(function* () {
      const base = { class: "C", queue: "q", args: [], jid: "j" }
      assert.strictEqual(Job.retryLimit(yield* Job.decode(JSON.stringify({ ...base, max_retry_count: 3 }))), 3)
      assert.strictEqual(Job.retryLimit(yield* Job.decode(JSON.stringify({ ...base, retry: false }))), 0)
      assert.strictEqual(Job.retryLimit(yield* Job.decode(JSON.stringify({ ...base, retry: true }))), undefined)
    }),
  )

  for (const [name, raw, reason] of [
    ["non-JSON", "{not json", "JSON"],
    ["JSON without class", JSON.stringify({ queue: "q", args: [], jid: "j" }), "class"],
    ["JSON without queue", JSON.stringify({ class: "C", args: [], jid: "j" }), "queue"],
    ["a JSON array", "[1,2]", "object"],
    [
      "args that are neither an array nor a JSON array string",
      JSON.stringify({ class: "C", queue: "q", args: "x", jid: "j" }),
      "args",
    ],
  ] as const) {
    it.effect(`rejects ${name} with a MalformedJob that carries the raw payload`, () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(Job.decode(raw))
        assert.isTrue(Exit.isFailure(exit))
        const error = yield* Effect.flip(Job.decode(raw))
        assert.strictEqual(error._tag, "MalformedJob")
        assert.strictEqual(error.raw, raw)
        assert.include(error.message.toLowerCase(), reason.toLowerCase())
      }),
    )
  }

  it.effect("records failures in Sidekiq's numbering and keeps extra keys", () =>
    Effect.gen(function* () {
      const job = yield* Job.decode(JSON.stringify({ class: "C", queue: "q", args: [], jid: "j", extra: { k: 1 } }))
      const first = Job.recordFailure(job, { errorClass: "Boom", message: "x".repeat(5000) }, 1_000_000)
      assert.strictEqual(first.retry_count, 0)
      assert.strictEqual(first.failed_at, 1_000)
      assert.strictEqual(first.retried_at, undefined)
      assert.strictEqual(first.error_class, "Boom")
      assert.isAtMost(first.error_message?.length ?? 0, Job.MaxErrorMessageLength)
      assert.strictEqual(Job.failureCount(first), 1)
      const second = Job.recordFailure(first, { errorClass: "Boom", message: "again" }, 2_000_000)
      assert.strictEqual(second.retry_count, 1)
      assert.strictEqual(second.failed_at, 1_000)
      assert.strictEqual(second.retried_at, 2_000)
      assert.strictEqual(Job.failureCount(second), 2)
      assert.deepStrictEqual(second.extra, { k: 1 })
    }),
  )

  it("patch sets only the changed keys and keeps the rest of the text byte for byte, over many round trips", () => {
    const raw =
      '{"class":"C","queue":"q","args":[9223372036854775807,9007199254740993,1e400,"\\u00e9"],"jid":"j","n":{"n":12345678901234567890}}'
    let text = raw
    for (let round = 1; round <= 5; round++) {
      const job = Effect.runSync(Job.decode(text))
      const changes = {
        ...Job.enqueuedChanges(round * 1000),
        ...Job.failureChanges(job, { errorClass: "E", message: "m" }, round * 1000),
      }
      text = Result.getOrThrow(Job.patch(text, changes))
      assert.isTrue(text.startsWith(raw.slice(0, -1)), text)
    }
    assert.deepInclude(JSON.parse(text), {
      enqueued_at: 5,
      retry_count: 4,
      failed_at: 1,
      retried_at: 5,
      error_class: "E",
    })
    assert.isTrue(Result.isFailure(Job.patch("[1]", { a: 1 })))
  })

  it("failureChanges bounds what a failure writes", () => {
    const job = Effect.runSync(Job.decode(JSON.stringify({ class: "C", queue: "q", args: [], jid: "j" })))
    const changes = Job.failureChanges(
      job,
      { errorClass: "E".repeat(10_000), message: "m".repeat(10_000), backtrace: Array(100).fill("x".repeat(10_000)) },
      0,
    )
    assert.isAtMost(String(changes.error_class).length, 500)
    assert.isAtMost(String(changes.error_message).length, Job.MaxErrorMessageLength)
    const backtrace = changes.error_backtrace as ReadonlyArray<string>
    assert.strictEqual(backtrace.length, Job.MaxBacktraceLines)
    for (const line of backtrace) assert.isAtMost(line.length, 500)
  })

  it("queueOf and jidOf read a payload that is cut short", () => {
    const raw = '{"jid":"j1","queue":"mail","args":[1,'
    assert.strictEqual(Job.queueOf(raw), "mail")
    assert.strictEqual(Job.jidOf(raw), "j1")
    assert.isUndefined(Job.jidOf("not json"))
  })

  it("makes 24-hex jids", () => {
    const jids = new Set(Array.from({ length: 1000 }, Job.makeJid))
    assert.strictEqual(jids.size, 1000)
    for (const jid of jids) assert.match(jid, /^[0-9a-f]{24}$/)
  })
})
