import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Redis } from "ioredis"
import * as Payload from "../../packages/core/src/Payload.ts"
import { Store } from "../../packages/core/src/Store.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { cleanupNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { storeConformance } from "./storeConformance.ts"

// Every test gets its own namespace, so tests running in parallel never see each other's keys,
// and deletes it afterwards, so a shared REDIS_URL is left as it was.
storeConformance("RedisStore", () => {
  const url = redisUrl()
  const namespace = uniqueNamespace()
  return Layer.merge(RedisStore.layer({ url, namespace }), cleanupNamespace(url, namespace))
})

// Redis only: what the binary form stands for is the bytes Redis holds, both ways.
describe("RedisStore: payloads are their bytes in Redis", () => {
  const notText = Buffer.from([0x7b, 0xff, 0xfe, 0x7d])
  const likeMarker = Buffer.from(`${Payload.Marker}text`)

  it.live("a binary-form payload is written as its bytes, and bytes pushed by others read as that form", () => {
    const url = redisUrl()
    const namespace = uniqueNamespace()
    return Effect.gen(function* () {
      const store = yield* Store
      const admin = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(url, { maxRetriesPerRequest: 1 })),
        (client) => Effect.sync(() => client.disconnect()),
      )
      const key = (name: string) => `${namespace}:${name}`
      yield* store.enqueue("q", [Payload.fromBytes(notText), Payload.fromBytes(likeMarker), "text"])
      const stored = yield* Effect.promise(() => admin.lrangeBuffer(key("queue:q"), 0, -1))
      assert.deepStrictEqual(stored, [Buffer.from("text"), likeMarker, notText])

      yield* Effect.promise(() => admin.lpush(key("queue:q"), notText))
      const fetched = yield* store.fetch("q", "n", 10)
      assert.deepStrictEqual(fetched.jobs, [
        Payload.fromBytes(notText),
        Payload.fromBytes(likeMarker),
        "text",
        Payload.fromBytes(notText),
      ])
      yield* store.kill("q", "n", fetched.jobs[0] ?? "", fetched.jobs[1] ?? "", 5, {
        maxJobs: 10,
        maxAgeSeconds: 1_000,
      })
      assert.deepStrictEqual(yield* Effect.promise(() => admin.zrangeBuffer(key("dead"), "0", "-1")), [likeMarker])
      // LREM took the first occurrence from the left: the same bytes, whichever copy.
      assert.deepStrictEqual(yield* Effect.promise(() => admin.lrangeBuffer(key("inprogress:q:n"), 0, -1)), [
        Buffer.from("text"),
        likeMarker,
        notText,
      ])
    }).pipe(Effect.provide(Layer.merge(RedisStore.layer({ url, namespace }), cleanupNamespace(url, namespace))))
  })
})

// The cluster key scheme on one Redis: the same contract, with every queue's keys in its own slot.
storeConformance(
  "RedisStore (cluster key scheme)",
  () => {
    const url = redisUrl()
    const namespace = uniqueNamespace()
    return Layer.merge(RedisStore.layer({ url, namespace, keyScheme: "cluster" }), cleanupNamespace(url, namespace))
  },
  { shardedByQueue: true },
)
