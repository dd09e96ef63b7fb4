import { Effect, Layer } from "effect"
import { Redis } from "ioredis"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { cleanupNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { payloadBytesSuite } from "./payloadBytes.ts"
import { storeConformance } from "./storeConformance.ts"

// Every test gets its own namespace, so tests running in parallel never see each other's keys,
// and deletes it afterwards, so a shared REDIS_URL is left as it was.
storeConformance("RedisStore", () => {
  const url = redisUrl()
  const namespace = uniqueNamespace()
  return Layer.merge(RedisStore.layer({ url, namespace }), cleanupNamespace(url, namespace))
})

payloadBytesSuite("RedisStore: payloads are their bytes in Redis", () => {
  const url = redisUrl()
  const namespace = uniqueNamespace()
  return {
    layer: Layer.merge(RedisStore.layer({ url, namespace }), cleanupNamespace(url, namespace)),
    admin: Effect.acquireRelease(
      Effect.sync(() => new Redis(url, { maxRetriesPerRequest: 1 })),
      (client) => Effect.sync(() => client.disconnect()),
    ),
    keys: { queue: `${namespace}:queue:q`, inProgress: `${namespace}:inprogress:q:n`, dead: `${namespace}:dead` },
  }
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
