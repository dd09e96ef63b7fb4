/**
 * The client against a real Redis, read back with the real `redis-cli`: what we write is
 * Sidekiq-shaped, and what Sidekiq writes we read.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Client, Job, Store, Worker } from "@verk/core"
import { RedisStore } from "@verk/redis"
import { Effect, Layer, Schema } from "effect"
import { Redis } from "ioredis"
import { redisUrl, uniqueNamespace } from "./support/redis.ts"
import { startRedisServer } from "./support/redisServer.ts"

const run = promisify(execFile)
const redisCli = async (url: string, ...args: Array<string>) => (await run("redis-cli", ["-u", url, ...args])).stdout

const Greet = Worker.make({
  name: "Greet",
  args: Schema.Tuple([Schema.String, Schema.Int]),
  queue: "mail",
  perform: () => Effect.void,
})

const layerFor = (url: string, namespace: string) =>
  Client.layer.pipe(Layer.provideMerge(RedisStore.layer({ url, namespace })))

describe("Client on Redis", () => {
  it.live("writes Sidekiq-shaped jobs that redis-cli reads back", () => {
    const namespace = uniqueNamespace()
    return Effect.gen(function* () {
      const job = yield* Client.enqueue(Greet, ["ada", 36])
      const url = redisUrl()
      const queues = yield* Effect.promise(() => redisCli(url, "SMEMBERS", `${namespace}:queues`))
      assert.include(queues.split("\n"), "mail")
      const stored = yield* Effect.promise(() => redisCli(url, "LRANGE", `${namespace}:queue:mail`, "0", "-1"))
      const wire = JSON.parse(stored.trim())
      assert.strictEqual(wire.class, "Greet")
      assert.deepStrictEqual(wire.args, ["ada", 36])
      assert.match(wire.jid, /^[0-9a-f]{24}$/)
      assert.strictEqual(wire.jid, job.jid)
      assert.strictEqual(wire.queue, "mail")
      assert.strictEqual(wire.retry, true)
      assert.isNumber(wire.created_at)
      assert.isNumber(wire.enqueued_at)
      // Epoch seconds as a float (millisecond precision), not milliseconds.
      assert.isBelow(wire.enqueued_at, 1e11)
      assert.isAbove(wire.enqueued_at, 1e9)
    }).pipe(Effect.provide(layerFor(redisUrl(), namespace)))
  })

  it.live("reads a job LPUSHed by hand in Sidekiq's form, and keeps its extra key through a retry write", () => {
    const namespace = uniqueNamespace()
    const url = redisUrl()
    const handWritten =
      '{"class":"Greet","args":[["nested",[]],{"deep":{"list":[1,{}]}}],"retry":true,"queue":"mail",' +
      '"jid":"0123456789abcdef01234567","created_at":1700000000.5,"enqueued_at":1700000000.5,"trace_id":"abc"}'
    return Effect.gen(function* () {
      yield* Effect.promise(() => redisCli(url, "LPUSH", `${namespace}:queue:mail`, handWritten))
      const store = yield* Store.Store
      const [taken] = (yield* store.fetch("mail", "node-a", 1)).jobs
      assert.strictEqual(taken?.raw, handWritten)
      const job = yield* Job.decode(taken?.raw ?? "")
      assert.deepStrictEqual(job.args, [["nested", []], { deep: { list: [1, {}] } }])
      const failed = Job.recordFailure(job, { errorClass: "Boom", message: "nope" }, 1_700_000_100_000)
      yield* store.retry("mail", "node-a", taken?.token ?? "", Job.encode(failed), 1_700_000_200)
      assert.deepStrictEqual(yield* store.inProgress("mail", "node-a"), [])
      const inRetry = yield* Effect.promise(() => redisCli(url, "ZRANGE", `${namespace}:retry`, "0", "-1"))
      const wire = JSON.parse(inRetry.trim())
      assert.strictEqual(wire.trace_id, "abc")
      assert.deepStrictEqual(wire.args, [["nested", []], { deep: { list: [1, {}] } }])
      assert.strictEqual(wire.retry_count, 0)
      assert.strictEqual(wire.error_class, "Boom")
      assert.strictEqual(wire.failed_at, 1_700_000_100)
    }).pipe(Effect.provide(layerFor(url, namespace)))
  })

  it.live("enqueueMany of 10,000 jobs makes one round trip per batch (INFO commandstats)", () =>
    Effect.gen(function* () {
      // A private server: commandstats are server-wide, and other tests run in parallel.
      const server = yield* Effect.acquireRelease(
        Effect.promise(() => startRedisServer()),
        (server) => Effect.promise(() => server.stop()),
      )
      const admin = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(server.url)),
        (client) => Effect.sync(() => client.disconnect()),
      )
      const jobs = yield* Effect.gen(function* () {
        yield* Client.enqueue(Greet, ["warm-up", 0]) // loads the script
        yield* Effect.promise(() => admin.config("RESETSTAT"))
        return yield* Client.enqueueMany(
          Greet,
          Array.from({ length: 10_000 }, (_, i) => ["user", i] as const),
        )
      }).pipe(Effect.provide(layerFor(server.url, "bulk")))
      const info = yield* Effect.promise(() => admin.info("commandstats"))
      const calls = (command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
      const batches = Math.ceil(10_000 / Client.EnqueueBatchSize)
      assert.strictEqual(jobs.length, 10_000)
      assert.strictEqual(calls("evalsha"), batches)
      assert.strictEqual(calls("lpush"), batches)
      assert.strictEqual(yield* Effect.promise(() => admin.llen("bulk:queue:mail")), 10_001)
    }).pipe(Effect.scoped),
  )

  it.live("an unreachable Redis is a StoreError at connect", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.provide(
          Effect.asVoid(Store.Store),
          RedisStore.layer({ url: "redis://127.0.0.1:1", ioredis: { retryStrategy: () => null } }),
        ),
      )
      assert.strictEqual(error._tag, "StoreError")
      assert.strictEqual(error.operation, "connect")
    }),
  )
})
