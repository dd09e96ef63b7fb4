import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Result } from "effect"
import * as DeadLetter from "../src/internal/DeadLetter.ts"
import { describeFailure } from "../src/internal/Failure.ts"
import { toPromotion } from "../src/internal/Scheduler.ts"
import * as Job from "../src/Job.ts"

const inProgress: DeadLetter.Source = { _tag: "InProgress", queue: "default", node: "n1", token: "1" }
const deep = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`

const death = (raw: string, extra: Partial<DeadLetter.Death> = {}): DeadLetter.Death => ({
  from: inProgress,
  raw,
  queue: "default",
  failure: { errorClass: "Boom", message: "it broke" },
  reason: "it broke",
  ...extra,
})

describe("DeadLetter.entryFor", () => {
  it("patches the failure into a job's own text, keeping the rest byte for byte", () => {
    const raw = '{"class":"C","queue":"default","args":[9223372036854775807,1e400],"jid":"j1","x":{"n":1.50}}'
    const entry = DeadLetter.entryFor(death(raw), 1_700_000_000_000)
    assert.strictEqual(entry.jid, "j1")
    assert.strictEqual(entry.job?.class, "C")
    assert.strictEqual(
      entry.payload,
      `${raw.slice(0, -1)},"retry_count":0,"error_class":"Boom","error_message":"it broke","failed_at":1700000000}`,
    )
  })

  it("counts one more failure on a job that failed before", () => {
    const raw = JSON.stringify({ class: "C", queue: "q", args: [], jid: "j", retry_count: 3, failed_at: 1 })
    const entry = DeadLetter.entryFor(death(raw), 5_000)
    assert.deepInclude(JSON.parse(entry.payload), { retry_count: 4, failed_at: 1, retried_at: 5 })
  })

  it("wraps a payload that is not a job, keeping its text whole, under a fresh jid", () => {
    for (const raw of ["{not json", '{"queue":"q","jid":"j"}', `{"class":${deep(10_000)}}`, ""]) {
      const entry = DeadLetter.entryFor(death(raw, { reason: "why" }), 2_000)
      assert.isUndefined(entry.job)
      assert.match(entry.jid, /^[0-9a-f]{24}$/)
      const wrapped = JSON.parse(entry.payload)
      assert.deepInclude(wrapped, {
        class: Job.MalformedClass,
        queue: "default",
        jid: entry.jid,
        error_message: "why",
        failed_at: 2,
        payload: raw,
      })
    }
  })

  it("uses the job it is given instead of decoding again", () => {
    const raw = JSON.stringify({ class: "C", queue: "q", args: [], jid: "from-text" })
    const job = { ...Effect.runSync(Job.decode(raw)), retry_count: 7 }
    assert.strictEqual(JSON.parse(DeadLetter.entryFor(death(raw, { job }), 0).payload).retry_count, 8)
  })
})

describe("DeadLetter log lines", () => {
  it("quote at most 120 characters of a payload, escaped, with its length", () => {
    assert.strictEqual(DeadLetter.excerpt('a"b\n'), '"a\\"b\\n" (4 chars)')
    const long = `\u0000${"x".repeat(500)}`
    assert.strictEqual(DeadLetter.excerpt(long), `${JSON.stringify(long.slice(0, 120))}... (501 chars)`)
  })

  it("name a malformed payload's queue, jid, excerpt and dead entry", () => {
    const raw = `{"jid":"abc","queue":"default","args":[${"1,".repeat(1_000)}`
    const entry = DeadLetter.entryFor(death(raw, { reason: "Malformed job payload: cut short" }), 0)
    const line = DeadLetter.logLine(death(raw, { reason: "Malformed job payload: cut short" }), {
      moved: true,
      entry,
      score: 12.5,
    })
    assert.strictEqual(
      line.message,
      `Malformed job payload in queue default (jid abc): Malformed job payload: cut short; payload ` +
        `${DeadLetter.excerpt(raw)}; moved to the dead set as ${entry.jid} (score 12.5)`,
    )
    assert.deepStrictEqual(line.annotations, {
      queue: "default",
      jid: "abc",
      dead_jid: entry.jid,
      dead_score: 12.5,
      payload_length: raw.length,
    })
  })

  it("say where a member of a set came from, and leave out a jid that cannot be found", () => {
    const from: DeadLetter.Source = { _tag: "Set", set: "schedule" }
    const line = DeadLetter.logLine(death("{not json", { from, reason: "bad" }), {
      moved: true,
      entry: { payload: "", jid: "dead1", job: undefined },
      score: 1,
    })
    assert.strictEqual(
      line.message,
      'Malformed job payload in queue default from schedule: bad; payload "{not json" (9 chars); moved to the dead set as dead1 (score 1)',
    )
  })

  it("name a job by class and jid", () => {
    const raw = JSON.stringify({ class: "C", queue: "default", args: [], jid: "j1" })
    const entry = DeadLetter.entryFor(death(raw), 0)
    const line = DeadLetter.logLine(death(raw, { reason: "retries exhausted" }), { moved: true, entry, score: 3 })
    assert.strictEqual(line.message, "dead C j1: retries exhausted")
    assert.deepStrictEqual(line.annotations, { queue: "default", class: "C", jid: "j1", dead_score: 3 })
  })
})

describe("Scheduler.toPromotion", () => {
  it("stamps enqueued_at into the member's own text", () => {
    const raw = '{"class":"C","queue":"q","args":[12345678901234567890],"jid":"j","enqueued_at":1}'
    const promotion = toPromotion(raw, 5_500)
    assert.isTrue(Result.isSuccess(promotion))
    if (Result.isSuccess(promotion)) {
      assert.deepStrictEqual(promotion.success, {
        raw,
        payload: '{"class":"C","queue":"q","args":[12345678901234567890],"jid":"j","enqueued_at":5.5}',
        queue: "q",
      })
    }
  })

  it("promotes a job nested 10,000 deep, and refuses what is not a job, without throwing", () => {
    const deepJob = `{"class":"C","queue":"q","args":${deep(10_000)},"jid":"j"}`
    assert.isTrue(Result.isSuccess(toPromotion(deepJob, 0)))
    for (const raw of ["{not json", `{"class":${deep(10_000)},"queue":"q","args":[],"jid":"j"}`, "[]"]) {
      const result = toPromotion(raw, 0)
      assert.isTrue(Result.isFailure(result), raw.slice(0, 40))
      if (Result.isFailure(result)) assert.strictEqual(result.failure.raw, raw)
    }
  })
})

describe("Failure.describeFailure", () => {
  it("describes errors whose fields cannot be read or shown, without throwing", () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const hostileError = new Error("x")
    Object.defineProperty(hostileError, "message", {
      get() {
        throw new Error("no message for you")
      },
    })
    const noPrototype = Object.create(null) as object
    for (const thrown of [cyclic, hostileError, noPrototype, 10n, Symbol("s"), deep(1)]) {
      const failure = describeFailure(Cause.die(thrown))
      assert.isString(failure.errorClass)
      assert.isString(failure.message)
    }
    assert.strictEqual(describeFailure(Cause.fail("plain")).message, "plain")
  })
})
