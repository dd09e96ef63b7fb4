/**
 * The hostile-payload fuzz scenario, on the real Redis store: a flood of generated payloads (random
 * bytes, extreme numbers, deep nesting, huge strings, `__proto__` keys, wrong types in every field)
 * pushed raw into a queue, `schedule` and `retry`, mixed with good jobs, then one node handles them.
 * Run by `hostile.test.ts` with a fixed seed and by `npm run fuzz` with random ones.
 */
import { Buffer } from "node:buffer"
import { Client, CurrentJob, Verk, Worker } from "@verk/core"
import { RedisStore } from "@verk/redis"
import { Effect, Layer, References, Schema } from "effect"
import fc from "fast-check"
import { Redis } from "ioredis"

/** What the node must do with a payload. */
export type Expect =
  /** A job of ours: it runs exactly once. */
  | { readonly kind: "good"; readonly jid: string }
  /** Not a job: dead, its bytes kept exactly. */
  | { readonly kind: "malformed" }
  /** A job of a class no worker has: it fails and waits in `retry`, its args text as it was. */
  | { readonly kind: "unknown"; readonly jid: string; readonly args: string }

export interface Hostile {
  readonly bytes: Buffer
  readonly where: "queue" | "schedule" | "retry"
  readonly expect: Expect
}

const hexJid = fc.uint8Array({ minLength: 12, maxLength: 12 }).map((bytes) => Buffer.from(bytes).toString("hex"))

const text = (json: string) => Buffer.from(json, "utf8")

const extremeNumber = fc.constantFrom(
  "1e400",
  "-1e400",
  "9223372036854775807",
  "-9223372036854775808",
  "9007199254740993",
  "123456789012345678901234567890",
  "-0",
  "1E-400",
  "0.1e-999",
  "4.9406564584124654e-324",
)

const hugeString = fc
  .tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 50_000, max: 400_000 }))
  .map(([unit, times]) => unit.repeat(Math.ceil(times / unit.length)))

const deepArgs = fc.integer({ min: 1_000, max: 20_000 }).map((depth) => `${"[".repeat(depth)}${"]".repeat(depth)}`)

/** Args a job of an unknown class carries: what must come back untouched in `retry`. */
const hostileArgs = fc.oneof(
  fc.array(extremeNumber, { minLength: 1, maxLength: 6 }).map((numbers) => `[${numbers.join(",")}]`),
  deepArgs.map((deep) => `[${deep}]`),
  hugeString.map((huge) => `[${JSON.stringify(huge)}]`),
  fc.constant('[{"__proto__":{"polluted":true}},{"constructor":{"prototype":{"x":1}}}]'),
)

const unknownClass = fc.tuple(hexJid, hostileArgs).map(([jid, args]) => ({
  bytes: text(`{"class":"Fuzz::Unknown","queue":"default","jid":"${jid}","retry":true,"args":${args}}`),
  expect: { kind: "unknown", jid, args } as const,
}))

/** A valid job with one field replaced by a value of the wrong type. */
const wrongType = fc
  .constantFrom(
    ["class", ["1", "[]", "{}", "null", '""', "true"]],
    ["queue", ["1", "[]", "null", '""', "{}"]],
    ["args", ['"x"', "1", "{}", "null", "true"]],
    ["jid", ["1", "[]", "null", '""', "{}"]],
    ["retry", ['"yes"', "[]", "{}", "1.5"]],
    ["retry_count", ['"1"', "[]", "1.5", "{}"]],
    ["enqueued_at", ['"now"', "[]", "{}", "true"]],
    ["created_at", ['"then"', "[]", "{}", "1e400"]],
  )
  .chain(([field, values]) => fc.tuple(fc.constant(field), fc.constantFrom(...(values as ReadonlyArray<string>))))
  .map(([field, value]) => {
    const job: Record<string, string> = {
      class: '"Fuzz::Good"',
      queue: '"default"',
      jid: '"0123456789abcdef01234567"',
      args: "[1]",
    }
    job[field] = value
    return text(
      `{${Object.entries(job)
        .map(([key, json]) => `"${key}":${json}`)
        .join(",")}}`,
    )
  })

const malformed = fc
  .oneof(
    fc.uint8Array({ minLength: 0, maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
    // Valid-looking JSON with bytes that are not UTF-8 inside a string.
    fc
      .uint8Array({ minLength: 1, maxLength: 8 })
      .map((bytes) =>
        Buffer.concat([
          text('{"class":"Fuzz::Good","queue":"default","jid":"x","args":["'),
          Buffer.from([0xff, ...bytes]),
          text('"]}'),
        ]),
      ),
    wrongType,
    deepArgs.map((deep) => text(deep)),
    hugeString.map((huge) => text(`not json ${huge}`)),
    fc.constant(text('{"__proto__":{"class":"Fuzz::Good"},"queue":"default","args":[],"jid":"p"}')),
    fc.constant(text('{"class":"Fuzz::Good","queue":"default","args":[],"jid":"truncated"')),
    fc.constant(text("")),
    fc.constant(text("null")),
  )
  .map((bytes) => ({ bytes, expect: { kind: "malformed" } as const }))

const good = fc.tuple(hexJid, fc.integer()).map(([jid, n]) => ({
  bytes: text(
    `{"class":"Fuzz::Good","queue":"default","jid":"${jid}","args":[${n}],"retry":true,"__proto__":{"x":1},"extra":1e400}`,
  ),
  expect: { kind: "good", jid } as const,
}))

export const flood: fc.Arbitrary<ReadonlyArray<Hostile>> = fc.array(
  fc
    .tuple(
      fc.oneof(
        { weight: 2, arbitrary: good },
        { weight: 3, arbitrary: malformed },
        { weight: 1, arbitrary: unknownClass },
      ),
      fc.constantFrom("queue", "schedule", "retry") as fc.Arbitrary<Hostile["where"]>,
    )
    .map(([payload, where]) => ({ ...payload, where })),
  { minLength: 20, maxLength: 60 },
)

/** Every jid the good worker ran, with how often. */
const ran = new Map<string, number>()

const Good = Worker.make({
  name: "Fuzz::Good",
  args: Schema.Tuple([Schema.Number]),
  perform: () =>
    Effect.map(CurrentJob.CurrentJob, ({ jid }) => {
      ran.set(jid, (ran.get(jid) ?? 0) + 1)
    }),
})

const sleep = (millis: number) => new Promise((done) => setTimeout(done, millis))

/** Same bytes pushed twice collapse in a sorted set: each payload once keeps the counts exact. */
const distinct = (payloads: ReadonlyArray<Hostile>): ReadonlyArray<Hostile> => {
  const seen = new Set<string>()
  return payloads.filter(({ bytes }) => {
    const key = bytes.toString("base64")
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

interface DeadEntry {
  readonly class?: unknown
  readonly payload?: unknown
  readonly payload_base64?: unknown
  readonly error_message?: unknown
}

/**
 * Pushes `payloads` raw under `namespace`, runs one node until they are handled and a job
 * scheduled after the flood has run, and returns what went wrong (nothing, when all is well).
 */
export const runScenario = async (
  url: string,
  namespace: string,
  generated: ReadonlyArray<Hostile>,
  timeoutMillis = 60_000,
): Promise<ReadonlyArray<string>> => {
  const payloads = distinct(generated)
  const key = (name: string) => `${namespace}:${name}`
  const admin = new Redis(url)
  ran.clear()
  try {
    const nowSeconds = Date.now() / 1000
    for (const { bytes, where } of payloads) {
      if (where === "queue") await admin.lpush(key("queue:default"), bytes)
      else await admin.zadd(key(where), String(nowSeconds - 1), bytes)
    }
    await admin.sadd(key("queues"), "default")

    const goods = payloads.flatMap(({ expect }) => (expect.kind === "good" ? [expect.jid] : []))
    const unknowns = payloads.flatMap(({ expect }) => (expect.kind === "unknown" ? [expect] : []))
    const malformed = payloads.filter(({ expect }) => expect.kind === "malformed")

    const inProgress = async () => {
      const keys = await admin.keys(`${key("inprogress")}:*`)
      let total = 0
      for (const list of keys) total += await admin.llen(list)
      return total
    }
    const settled = async () =>
      goods.every((jid) => (ran.get(jid) ?? 0) > 0) &&
      (await admin.llen(key("queue:default"))) === 0 &&
      (await admin.zcount(key("schedule"), "-inf", String(Date.now() / 1000))) === 0 &&
      (await admin.zcount(key("retry"), "-inf", String(Date.now() / 1000))) === 0 &&
      (await admin.zcard(key("dead"))) >= malformed.length &&
      (await admin.zcard(key("retry"))) >= unknowns.length &&
      (await inProgress()) === 0

    const problems: Array<string> = []
    const program = Effect.gen(function* () {
      const verk = yield* Verk.Verk
      const deadline = Date.now() + timeoutMillis
      while (!(yield* Effect.promise(settled))) {
        if (Date.now() > deadline) {
          problems.push("the flood was not handled in time")
          return
        }
        yield* Effect.promise(() => sleep(50))
      }
      // The fence: a job scheduled after the flood runs, so the scheduler is alive, and every
      // good job had its chance to run twice before we count.
      const fence = yield* Client.schedule(Good, [0], "300 millis")
      while ((ran.get(fence.jid) ?? 0) === 0) {
        if (Date.now() > deadline) {
          problems.push("a job scheduled after the flood never ran")
          return
        }
        yield* Effect.promise(() => sleep(20))
      }
      const health = yield* verk.health
      if (!health.healthy) problems.push(`the node is not healthy: ${JSON.stringify(health)}`)
    }).pipe(
      Effect.scoped,
      Effect.provide(
        Verk.layer({
          workers: [Good],
          queues: { default: 10 },
          pollInterval: "100 millis",
          logLevels: { start: "None", done: "None", fail: "None" },
        }).pipe(Layer.provideMerge(RedisStore.layer({ url, namespace }))),
      ),
      Effect.provideService(References.MinimumLogLevel, "Error"),
    )
    await Effect.runPromise(program)

    for (const jid of goods) {
      const runs = ran.get(jid) ?? 0
      if (runs !== 1) problems.push(`good job ${jid} ran ${runs} times`)
    }
    const dead = (await admin.zrange(key("dead"), "0", "-1")).map((member) => JSON.parse(member) as DeadEntry)
    const carried = new Set(
      dead
        .filter((entry) => entry.class === "Verk::MalformedJob" && typeof entry.error_message === "string")
        .map((entry) =>
          typeof entry.payload_base64 === "string"
            ? entry.payload_base64
            : Buffer.from(String(entry.payload), "utf8").toString("base64"),
        ),
    )
    for (const { bytes, where } of malformed) {
      if (!carried.has(bytes.toString("base64"))) {
        problems.push(
          `a malformed payload from ${where} is not in dead byte for byte: ${bytes.subarray(0, 60).toString("base64")}`,
        )
      }
    }
    const retries = await admin.zrange(key("retry"), "0", "-1")
    for (const { jid, args } of unknowns) {
      if (!retries.some((member) => member.includes(`"jid":"${jid}"`) && member.includes(`"args":${args}`))) {
        problems.push(`job ${jid} of an unknown class is not in retry with its args as they were`)
      }
    }
    const left = await inProgress()
    if (left !== 0) problems.push(`${left} payloads left in progress`)
    return problems
  } finally {
    admin.disconnect()
  }
}
