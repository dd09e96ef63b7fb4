/**
 * Job's two decoders agree. `Job.decodeCommon` is the hot path's hand-written check: it returns
 * the job only for a payload in the plain form our client writes, and `undefined` whenever it is
 * not sure, leaving the payload to the Schema decoder (`Job.Job`). The properties: whatever
 * `decodeCommon` returns, the Schema decoder returns too (same job); `Job.decode` (the one tried
 * then the other) agrees with the Schema decoder on every payload, valid or hostile; and
 * `decodeCommon` does decode what our client writes, so that it is not vacuously "sure of nothing".
 *
 * Random with a fixed seed; VERK_FUZZ_SEED (a number, or `random`) and VERK_FUZZ_RUNS override it.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import fc from "fast-check"
import { buildJob } from "../src/Client.ts"
import * as Job from "../src/Job.ts"
import * as Payload from "../src/Payload.ts"

const seedSetting = process.env.VERK_FUZZ_SEED
const seed = seedSetting === "random" ? Date.now() : seedSetting ? Number(seedSetting) : 20260611
const numRuns = Number(process.env.VERK_FUZZ_RUNS ?? 1_000)
const settings = { seed, numRuns }
/** Vitest's timeout for a property: room for a long `VERK_FUZZ_RUNS`. */
const timeout = 20_000 + numRuns * 5

/** The Schema decoder alone: what `Job.decode` falls back to. A thrown defect counts as a failure. */
const decodeSchema = (text: string): Result.Result<Job.Job, string> => {
  try {
    const exit = Schema.decodeUnknownExit(Schema.fromJsonString(Job.Job))(text)
    return Exit.isSuccess(exit) ? Result.succeed(exit.value) : Result.fail(String(exit.cause))
  } catch (defect) {
    return Result.fail(`defect: ${String(defect)}`)
  }
}

// --- Generators: a job is a list of members, each a key and the JSON text of its value, so that
// a generated payload can hold what no object can (duplicate keys, `__proto__` as an own key,
// numbers beyond 2^53 or beyond a double, exponents).

type Member = readonly [key: string, json: string]

const json = (value: unknown) => JSON.stringify(value)

/** Any string, lone surrogates and all. */
const anyString = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: "grapheme" }),
  fc.constantFrom("", " ", "\u0000", "\ud800", "é", "🎉", "__proto__", "constructor"),
)
const nonEmptyString = fc.oneof(
  fc.string({ minLength: 1 }),
  fc.string({ unit: "binary", minLength: 1 }),
  fc.constantFrom("HardWorker", "Mailer::Deliver", "default", "crítico", "队列", "🎉", "\ud800", "\u0000"),
)
const hexJid = fc.uint8Array({ minLength: 12, maxLength: 12 }).map((bytes) => Buffer.from(bytes).toString("hex"))

/** Number texts JSON.parse turns into something surprising. */
const oddNumberText = fc.constantFrom(
  "-0",
  "1e400",
  "-1e400",
  "9007199254740993",
  "9223372036854775807",
  "123456789012345678901234567890",
  "1E-400",
  "4.9406564584124654e-324",
  "1.0",
  "1e2",
  "100000000000",
  "100000000000.5",
  "1e11",
)

const epochText = fc.oneof(
  fc.integer({ min: 0, max: 4_000_000_000 }).map(json),
  fc.double({ min: 0, max: 4e9, noNaN: true }).map(json),
  fc.integer({ min: 1_000_000_000_000, max: 4_000_000_000_000 }).map(json),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(json),
  oddNumberText,
)
const intText = fc.oneof(fc.integer().map(json), fc.integer({ min: -5, max: 30 }).map(json), oddNumberText)
const argsText = fc.oneof(
  fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }).map(json),
  // Verk's form: a string holding a JSON array.
  fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }).map((args) => json(json(args))),
  fc.constantFrom("[]", '[{"__proto__":{"polluted":true}}]', '[{"constructor":{"prototype":{"x":1}}}]', "[1e400]"),
)

/** The members every job has. */
const required: fc.Arbitrary<ReadonlyArray<Member>> = fc.tuple(
  nonEmptyString.map((value): Member => ["class", json(value)]),
  nonEmptyString.map((value): Member => ["queue", json(value)]),
  argsText.map((value): Member => ["args", value]),
  fc.oneof(hexJid, nonEmptyString, fc.nat().map(String)).map((value): Member => ["jid", json(value)]),
)

/** Optional members of Sidekiq's format (and `traceparent`), each with valid and borderline values. */
const optional: fc.Arbitrary<Member> = fc.oneof(
  fc.oneof(fc.boolean().map(json), intText).map((value): Member => ["retry", value]),
  epochText.map((value): Member => ["created_at", value]),
  epochText.map((value): Member => ["enqueued_at", value]),
  epochText.map((value): Member => ["failed_at", value]),
  epochText.map((value): Member => ["retried_at", value]),
  intText.map((value): Member => ["retry_count", value]),
  intText.map((value): Member => ["max_retry_count", value]),
  anyString.map((value): Member => ["error_message", json(value)]),
  anyString.map((value): Member => ["error_class", json(value)]),
  fc.array(anyString, { maxLength: 4 }).map((value): Member => ["error_backtrace", json(value)]),
  fc
    .oneof(fc.constant("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), anyString)
    .map((value): Member => ["traceparent", json(value)]),
)

/** A key of another client's (or a hostile one): unknown, prototype-ish, unicode. */
const extraKey = fc.oneof(
  fc.constantFrom("bid", "tags", "wrapped", "__proto__", "constructor", "prototype", "toString", "hasOwnProperty"),
  anyString,
)
const extra: fc.Arbitrary<Member> = fc.tuple(extraKey, fc.json({ maxDepth: 3 }))

/** A value of any JSON type, for a member that wants another one. */
const anyJsonText = fc.oneof(
  fc.json({ maxDepth: 2 }),
  fc.constantFrom("null", "true", "false", '""', "[]", "{}", '"x"', "1.5", "-1"),
  oddNumberText,
)

const serialize = (members: ReadonlyArray<Member>, spaced: boolean) => {
  const separator = spaced ? " , " : ","
  const body = members.map(([key, value]) => `${json(key)}${spaced ? " : " : ":"}${value}`).join(separator)
  return spaced ? `\n{ ${body} }\n` : `{${body}}`
}

/** A valid job in Sidekiq's wire format (give or take the borderline values of `optional`). */
const wireJob = fc
  .tuple(
    required,
    fc.uniqueArray(optional, { selector: ([key]) => key, maxLength: 6 }),
    fc.array(extra, { maxLength: 3 }),
    fc.boolean(),
  )
  .chain(([base, more, others, spaced]) =>
    fc
      .shuffledSubarray([...base, ...more, ...others], { minLength: base.length + more.length + others.length })
      .map((members) => serialize(members, spaced)),
  )

/** A job our client writes: only the plain members, with valid values. */
const plainJob = fc
  .record(
    {
      class: nonEmptyString,
      queue: nonEmptyString,
      args: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }),
      jid: fc.oneof(hexJid, nonEmptyString),
      retry: fc.oneof(fc.boolean(), fc.integer({ min: -1, max: 100 })),
      created_at: fc.integer({ min: 0, max: 4_000_000_000_000 }).map(Job.toEpochSeconds),
      enqueued_at: fc.integer({ min: 0, max: 4_000_000_000_000 }).map(Job.toEpochSeconds),
      traceparent: fc.constant("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    },
    { requiredKeys: ["class", "queue", "args", "jid"] },
  )
  .map(json)

const optionalKeys = [
  "retry",
  "created_at",
  "enqueued_at",
  "failed_at",
  "retried_at",
  "retry_count",
  "max_retry_count",
  "error_message",
  "error_class",
  "error_backtrace",
  "traceparent",
] as const

/** Optional members with the values our client writes. */
const plainOptional: fc.Arbitrary<Member> = fc.oneof(
  fc.oneof(fc.boolean(), fc.integer({ min: -1, max: 100 })).map((value): Member => ["retry", json(value)]),
  fc.integer({ min: 0, max: 4_000_000_000_000 }).map((millis): Member => ["created_at", json(millis / 1000)]),
  fc.integer({ min: 0, max: 4_000_000_000_000 }).map((millis): Member => ["enqueued_at", json(millis / 1000)]),
  fc.constant<Member>(["traceparent", json("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]),
)

/**
 * A job in the plain form but for one member: a known one with a borderline or wrong value, or
 * another key. This is where decodeCommon has to decide whether it is sure.
 */
const nearPlainJob = fc
  .tuple(
    required,
    fc.uniqueArray(plainOptional, { selector: ([key]) => key, maxLength: 4 }),
    fc.oneof(optional, extra, fc.tuple(fc.constantFrom(...optionalKeys), anyJsonText)),
    fc.boolean(),
  )
  .chain(([base, plain, odd, spaced]) => {
    const members = [...base, ...plain.filter(([key]) => key !== odd[0]), odd]
    return fc.shuffledSubarray(members, { minLength: members.length }).map((shuffled) => serialize(shuffled, spaced))
  })

/** A job with one thing wrong: a member missing, of another type, repeated, or the text cut short. */
const brokenJob = fc.oneof(
  fc.tuple(required, fc.nat(3)).map(([members, drop]) => serialize(members.toSpliced(drop, 1), false)),
  fc
    .tuple(required, fc.array(optional, { maxLength: 3 }), fc.nat(20), anyJsonText)
    .map(([base, more, index, value]) => {
      const members = [...base, ...more]
      const at = index % members.length
      return serialize(
        members.map((member, i): Member => (i === at ? [member[0], value] : member)),
        false,
      )
    }),
  // A repeated key: JSON.parse keeps the last one, and so must both decoders.
  fc
    .tuple(required, fc.nat(3), anyJsonText)
    .map(([members, index, value]) => serialize([...members, [members[index]?.[0] ?? "class", value]], false)),
  fc.tuple(wireJob, fc.nat()).map(([text, cut]) => text.slice(0, cut % Math.max(1, text.length))),
  wireJob.map((text) => `[${text}]`),
  wireJob.map((text) => json(text)),
)

/** Anything at all: JSON of every shape, random text, the binary form. */
const hostile = fc.oneof(
  fc.json({ maxDepth: 3 }),
  anyString,
  fc.constantFrom("", "null", "[]", "{}", "1", '"job"', "{", "}", "\ufeff{}", '{"__proto__":null}'),
  fc.oneof(wireJob, plainJob).map((text) => Payload.Marker + Buffer.from(text, "utf8").toString("base64")),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Payload.fromBytes(bytes)),
  fc.string({ unit: "binary" }).map((text) => Payload.Marker + text),
)

const anyPayload = fc.oneof(wireJob, plainJob, nearPlainJob, brokenJob, hostile)

describe("Job's decoders", () => {
  it(
    `decodeCommon returns only what the Schema decoder returns too (seed ${seed})`,
    () => {
      fc.assert(
        fc.property(anyPayload, (raw) => {
          const common = Job.decodeCommon(raw)
          if (common === undefined) return
          const schema = decodeSchema(raw)
          assert.isTrue(Result.isSuccess(schema), `decodeCommon took what the schema refuses: ${raw}`)
          if (Result.isSuccess(schema)) assert.deepStrictEqual(common, schema.success)
        }),
        settings,
      )
    },
    timeout,
  )

  it(
    `decode agrees with the Schema decoder on every payload, and never throws (seed ${seed})`,
    () => {
      fc.assert(
        fc.property(anyPayload, (raw) => {
          const decoded = Job.decodeResult(raw)
          const text = Payload.text(raw)
          if (text === undefined) {
            assert.isTrue(Result.isFailure(decoded), "bytes that are not UTF-8 are never a job")
            return
          }
          const schema = decodeSchema(text)
          assert.strictEqual(Result.isSuccess(decoded), Result.isSuccess(schema), raw)
          if (Result.isSuccess(decoded) && Result.isSuccess(schema))
            assert.deepStrictEqual(decoded.success, schema.success)
          if (Result.isFailure(decoded)) {
            assert.strictEqual(decoded.failure._tag, "MalformedJob")
            assert.strictEqual(decoded.failure.raw, raw)
          }
        }),
        settings,
      )
    },
    timeout,
  )

  it(
    `decodeCommon decodes every plain job, and every job the client builds (seed ${seed})`,
    () => {
      fc.assert(
        fc.property(plainJob, (raw) => {
          const common = Job.decodeCommon(raw)
          assert.isDefined(common, raw)
          assert.deepStrictEqual(common, JSON.parse(raw))
        }),
        settings,
      )
      fc.assert(
        fc.property(
          fc.record(
            {
              class: nonEmptyString,
              args: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }),
              // The client refuses a queue name outside Settings.QueueNameRule.
              queue: fc.stringMatching(/^[A-Za-z0-9_.-]{1,128}$/),
              jid: fc.oneof(hexJid, nonEmptyString),
              retry: fc.oneof(fc.boolean(), fc.nat(100)),
            },
            { requiredKeys: ["class", "args"] },
          ),
          fc.integer({ min: 0, max: 4_000_000_000_000 }),
          fc.boolean(),
          fc.option(fc.constant("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), { nil: undefined }),
          (input, nowMillis, enqueued, traceparent) => {
            const built = buildJob(input, { nowMillis, enqueued, traceparent })
            assert.isTrue(Result.isSuccess(built), "the client builds a job from any valid input")
            if (Result.isFailure(built)) return
            const common = Job.decodeCommon(Job.encode(built.success))
            assert.isDefined(common, "decodeCommon takes what the client writes")
            assert.deepStrictEqual(common, built.success)
          },
        ),
        settings,
      )
    },
    timeout,
  )

  it("decodeCommon leaves to the schema what it does not know", () => {
    const base = { class: "C", queue: "q", args: [], jid: "j" }
    for (const raw of [
      json({ ...base, bid: "b" }),
      json({ ...base, args: "[1]" }),
      json({ ...base, created_at: 1_700_000_000_250 }),
      json({ ...base, retry_count: 0 }),
      `{"class":"C","queue":"q","args":[],"jid":"j","__proto__":{}}`,
      Payload.Marker + Buffer.from(json(base), "utf8").toString("base64"),
    ]) {
      assert.isUndefined(Job.decodeCommon(raw), raw)
      assert.isTrue(Result.isSuccess(Job.decodeResult(raw)), raw)
    }
  })
})
