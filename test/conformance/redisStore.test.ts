import { Layer } from "effect"
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
