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
import * as Payload from "../../packages/core/src/Payload.ts"
import { Store } from "../../packages/core/src/Store.ts"
import * as Keys from "../../packages/redis/src/Keys.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
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
const makeLayer = (namespace = uniqueNamespace()): Layer.Layer<Store, unknown> => {
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

storeConformance("RedisStore on a Redis Cluster", () => makeLayer(), { shardedByQueue: true })

// What the binary form stands for is the bytes Redis holds, both ways (the cluster scheme's keys).
describe("RedisStore on a Redis Cluster: payloads are their bytes in Redis", () => {
  const notText = Buffer.from([0x7b, 0xff, 0xfe, 0x7d])
  const likeMarker = Buffer.from(`${Payload.Marker}text`)

  it.live("a binary-form payload is written as its bytes, and bytes pushed by others read as that form", () => {
    const namespace = uniqueNamespace()
    const keys = Keys.make(namespace, "cluster")
    return Effect.gen(function* () {
      const { admin } = started()
      const store = yield* Store
      yield* store.enqueue("q", [Payload.fromBytes(notText), Payload.fromBytes(likeMarker), "text"])
      const stored = yield* Effect.promise(() => admin.lrangeBuffer(keys.queue("q"), 0, -1))
      assert.deepStrictEqual(stored, [Buffer.from("text"), likeMarker, notText])

      yield* Effect.promise(() => admin.lpush(keys.queue("q"), notText))
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
      // Neither payload is a job naming a queue, so its dead entry lives with the default home.
      const dead = keys.set("dead", Keys.DefaultHome)
      assert.deepStrictEqual(yield* Effect.promise(() => admin.zrangeBuffer(dead, "0", "-1")), [likeMarker])
      // LREM took the first occurrence from the left: the same bytes, whichever copy.
      assert.deepStrictEqual(yield* Effect.promise(() => admin.lrangeBuffer(keys.inProgress("q", "n"), 0, -1)), [
        Buffer.from("text"),
        likeMarker,
        notText,
      ])
    }).pipe(Effect.provide(makeLayer(namespace)))
  })
})
