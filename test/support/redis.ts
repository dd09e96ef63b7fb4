/**
 * What a Redis test needs: the URL the global setup provides, and a fresh key namespace so that
 * tests running in parallel never see each other's keys.
 */
import { randomBytes } from "node:crypto"
import { Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { inject } from "vitest"

/** The Redis of this test run (REDIS_URL, or the server the global setup started). */
export const redisUrl = (): string => inject("redisUrl")

/** A namespace no other test uses: `t:<16 hex>` (keys read `t:<16 hex>:queue:default`). */
export const uniqueNamespace = (): string => `t:${randomBytes(8).toString("hex")}`

/** Deletes every key under `namespace` (SCAN + UNLINK), on a connection of its own. */
export const deleteNamespace = async (url: string, namespace: string): Promise<void> => {
  if (!/^[A-Za-z0-9:_-]+$/.test(namespace)) throw new Error(`refusing to delete keys under ${namespace}`)
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await client.connect()
    let cursor = "0"
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${namespace}:*`, "COUNT", 500)
      cursor = next
      if (keys.length > 0) await client.unlink(...keys)
    } while (cursor !== "0")
  } finally {
    client.disconnect()
  }
}

/**
 * A layer that deletes the namespace's keys when it is released, so that tests run against a
 * shared `REDIS_URL` leave nothing behind. Cleanup failures are ignored: they cannot fail a test.
 */
export const cleanupNamespace = (url: string, namespace: string): Layer.Layer<never> =>
  Layer.effectDiscard(
    Effect.addFinalizer(() => Effect.ignore(Effect.tryPromise(() => deleteNamespace(url, namespace)))),
  )
