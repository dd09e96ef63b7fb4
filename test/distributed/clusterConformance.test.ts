/**
 * The store conformance suite on a real Redis Cluster (3 primaries, 3 replicas on loopback), with
 * the cluster key scheme `RedisStore.layer` picks by itself there. One cluster serves the whole
 * file; each test gets its own namespace and its own connections, and its keys are deleted from
 * every primary afterwards.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Cluster } from "ioredis"
import { afterAll, beforeAll } from "vitest"
import { Store, type Services as StoreServices } from "../../packages/core/src/Store.ts"
import * as Keys from "../../packages/redis/src/Keys.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { payloadBytesSuite } from "../conformance/payloadBytes.ts"
import { storeConformance } from "../conformance/storeConformance.ts"
import { uniqueNamespace } from "../support/redis.ts"
import { type RedisCluster, startCluster } from "../support/redisCluster.ts"

let cluster: RedisCluster | undefined
/** The file's own admin connection: cleanup and raw reads. */
let admin: Cluster | undefined

beforeAll(async () => {
  cluster = await startCluster({ primaries: 3, replicasPerPrimary: 1 })
  admin = new Cluster([...cluster.nodes], { redisOptions: { maxRetriesPerRequest: 1 } })
  await admin.ping()
}, 60_000)

afterAll(async () => {
  admin?.disconnect()
  await cluster?.stop()
}, 30_000)

const started = () => {
  if (cluster === undefined || admin === undefined) throw new Error("the cluster did not start (see beforeAll)")
  return { cluster, admin }
}

/** Deletes every key under `namespace` on every primary (SCAN is per node: keys live on the shard of their slot). */
const deleteNamespace = async (client: Cluster, namespace: string): Promise<void> => {
  if (!/^[A-Za-z0-9:_-]+$/.test(namespace)) throw new Error(`refusing to delete keys under ${namespace}`)
  await Promise.all(
    client.nodes("master").map(async (node) => {
      let cursor = "0"
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", `${namespace}:*`, "COUNT", 500)
        cursor = next
        // One UNLINK per key: a node rejects a multi-key command whose keys span slots.
        await Promise.all(keys.map((key) => node.unlink(key)))
      } while (cursor !== "0")
    }),
  )
}

/** The store on the cluster under a fresh namespace, whose keys are deleted when the layer is released. */
const makeLayer = (namespace = uniqueNamespace()): Layer.Layer<StoreServices, unknown> => {
  const { cluster, admin } = started()
  const cleanup = Layer.effectDiscard(
    Effect.addFinalizer(() => Effect.ignore(Effect.tryPromise(() => deleteNamespace(admin, namespace)))),
  )
  // `url` carries no host here: with `cluster`, only its credentials and database would be used.
  return Layer.merge(
    RedisStore.layer({ url: "redis://127.0.0.1", cluster: { nodes: cluster.nodes }, namespace }),
    cleanup,
  )
}

storeConformance("RedisStore on a Redis Cluster", () => makeLayer(), { shardedByQueue: true, onRedisCluster: true })

// The cluster scheme's keys; neither payload is a job naming a queue, so its dead entry lives with
// the default home.
payloadBytesSuite("RedisStore on a Redis Cluster: payloads are their bytes in Redis", () => {
  const namespace = uniqueNamespace()
  const keys = Keys.make(namespace, "cluster")
  return {
    layer: makeLayer(namespace),
    admin: Effect.sync(() => started().admin),
    keys: { queue: keys.queue("q"), inProgress: keys.inProgress("q", "n"), dead: keys.set("dead", Keys.DefaultHome) },
  }
})

// Large jobs taken whole (fetch.lua's batch lists, in the queue's slot beside its other keys).
describe("RedisStore on a Redis Cluster: large jobs taken whole", () => {
  const job = (n: number) =>
    JSON.stringify({ class: "Big", queue: "q", args: [`${n}:${"x".repeat(4_000)}`], jid: `j${n}` })
  /** The namespace's batch lists and counts, on every primary. */
  const batchKeys = (namespace: string) =>
    Effect.promise(async () => {
      const found = await Promise.all(
        started()
          .admin.nodes("master")
          .map((node) => node.keys(`${namespace}:verk:batch*`)),
      )
      return found.flat()
    })

  it.live("fetches them whole, and outcomes and recovery leave no batch list", () => {
    const namespace = uniqueNamespace()
    return Effect.gen(function* () {
      const store = yield* Store
      yield* store.enqueue("q", [job(0)])
      yield* store.ack(
        "q",
        "n1",
        (yield* store.fetch("q", "n1", 1)).jobs.map(({ token }) => token),
      )
      yield* store.enqueue("q", [1, 2, 3, 4, 5, 6].map(job))
      const fetched = yield* store.fetch("q", "n1", 3)
      assert.deepStrictEqual(
        fetched.jobs.map(({ raw }) => raw),
        [job(1), job(2), job(3)],
      )
      assert.strictEqual((yield* batchKeys(namespace)).length, 2)
      const [a, b, c] = fetched.jobs
      yield* store.ack("q", "n1", [a!.token])
      yield* store.retry("q", "n1", b!.token, b!.raw, 100)
      yield* store.kill("q", "n1", c!.token, c!.raw, 100, { maxJobs: 10, maxAgeSeconds: 3600 })
      assert.deepStrictEqual(yield* batchKeys(namespace), [])
      // A dead node's jobs taken whole come back byte for byte.
      assert.strictEqual((yield* store.fetch("q", "n2", 3)).jobs.length, 3)
      assert.strictEqual((yield* store.recoverBatch("q", "n2", 5)).taken, 3)
      assert.deepStrictEqual(yield* batchKeys(namespace), [])
      assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), [job(6), job(5), job(4)])
    }).pipe(Effect.provide(makeLayer(namespace)))
  })
})
