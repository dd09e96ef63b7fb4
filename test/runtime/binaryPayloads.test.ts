/**
 * Issue 9, defect 3: a payload's identity is its bytes. Payloads pushed by a foreign client that
 * are not valid UTF-8 were read back as lossy text (U+FFFD), so their ack never matched what Redis
 * held: they stayed in progress and ran again on the next node. Such a payload cannot be a job
 * (Sidekiq's JSON parser refuses it too): it goes to dead once, as a `Verk::MalformedJob` entry
 * carrying its exact bytes (`payload_base64`), leaves in-progress (or `schedule`), and a restart
 * runs nothing again. Redis only: the in-memory store holds strings, not bytes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Logger, References, Schema, Scope } from "effect"
import { Redis } from "ioredis"
import * as Worker from "../../packages/core/src/Worker.ts"
import { forJid, is, startNode, storeKinds } from "./support.ts"

const config = { queues: { default: 3 }, pollInterval: "200 millis", shutdownTimeout: "200 millis" } as const

const redisKind = storeKinds.find((kind) => kind.isRedis)
if (redisKind === undefined) throw new Error("no Redis store kind")

/** Runs `effect` with every log line at Warn or above recorded in `lines` (and none printed). */
const withLogs = <A, E, R>(lines: Array<string>, effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provide(
      Logger.layer([
        Logger.make(({ message }) => {
          lines.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
        }),
      ]),
    ),
    Effect.provideService(References.MinimumLogLevel, "Warn"),
  )

const admin = (url: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
      await client.connect()
      return client
    }),
    (client) => Effect.sync(() => client.disconnect()),
  )

const bytes = (...parts: ReadonlyArray<string | ReadonlyArray<number>>): Buffer =>
  Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part, "utf8") : Buffer.from(part))))

interface DeadEntry {
  readonly class: string
  readonly error_message: string
  readonly payload: string
  readonly payload_base64?: string
}

describe("payloads that are not valid UTF-8 (RedisStore)", () => {
  it.live("go to dead once with their exact bytes, leave in-progress and schedule, and a restart runs nothing", () => {
    const lines: Array<string> = []
    return Effect.gen(function* () {
      const store = yield* redisKind.open
      const { url, namespace } = store.redis ?? { url: "", namespace: "" }
      const redis = yield* admin(url)
      const key = (name: string) => `${namespace}:${name}`
      const Ok = Worker.make({ name: "Ok", args: Schema.Array(Schema.Unknown), perform: () => Effect.void })

      const notText = bytes([0x7b, 0xff, 0xfe, 0x7d])
      // A valid job but for one byte inside a string: still not UTF-8, so not a job.
      const oneBadByte = bytes('{"class":"Ok","queue":"default","args":["', [0xff], '"],"jid":"bad-byte"}')
      const scheduled = bytes('{"class":"Ok","queue":"default","args":["', [0xc3, 0x28], '"],"jid":"bad-scheduled"}')
      const originals = [notText, oneBadByte, scheduled]

      const firstScope = yield* Scope.make()
      const first = yield* startNode(store, config, [Ok], firstScope)
      yield* Effect.promise(() => redis.lpush(key("queue:default"), notText, oneBadByte))
      yield* Effect.promise(() => redis.zadd(key("schedule"), "1", scheduled))
      yield* first.events.await(is("JobDead"), 3)

      assert.strictEqual(yield* Effect.promise(() => redis.llen(key(`inprogress:default:${first.verk.nodeId}`))), 0)
      assert.strictEqual(yield* Effect.promise(() => redis.zcard(key("schedule"))), 0)
      assert.strictEqual(yield* Effect.promise(() => redis.llen(key("queue:default"))), 0)
      const dead = (yield* Effect.promise(() => redis.zrangeBuffer(key("dead"), "0", "-1"))).map(
        (entry) => JSON.parse(entry.toString("utf8")) as DeadEntry,
      )
      assert.strictEqual(dead.length, 3)
      for (const entry of dead) {
        assert.strictEqual(entry.class, "Verk::MalformedJob")
        assert.match(entry.error_message, /not valid UTF-8, \d+ bytes/)
        assert.isString(entry.payload, "a lossy copy for display")
      }
      const carried = dead.map((entry) => Buffer.from(entry.payload_base64 ?? "", "base64"))
      for (const original of originals) {
        assert.isTrue(
          carried.some((entry) => entry.equals(original)),
          `the dead set carries ${original.toString("hex")} byte for byte`,
        )
      }
      assert.strictEqual(lines.filter((line) => line.startsWith("Malformed job payload")).length, 3, lines.join("\n"))

      // A restart: shutdown requeues whatever is still in progress, and the next node runs it.
      yield* Scope.close(firstScope, Exit.void)
      store.started -= 1
      const second = yield* startNode(store, config, [Ok])
      const later = yield* second.client.enqueue(Ok, [])
      yield* second.events.await(forJid("JobFinished", later.jid))
      assert.strictEqual(second.events.count(is("JobStarted")), 1, "only the job enqueued after the restart ran")
      assert.strictEqual(second.events.count(is("JobDead")), 0)
      assert.strictEqual(yield* Effect.promise(() => redis.zcard(key("dead"))), 3)
      assert.strictEqual(lines.filter((line) => line.startsWith("Malformed job payload")).length, 3, lines.join("\n"))
    }).pipe((effect) => withLogs(lines, effect))
  })
})
