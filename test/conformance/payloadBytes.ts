/**
 * Redis only: what the binary form of a payload stands for is the bytes Redis holds, both ways. One
 * body for the single Redis and the Cluster, which differ in key names and admin connection.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer, type Scope } from "effect"
import type { Redis } from "ioredis"
import * as Payload from "../../packages/core/src/Payload.ts"
import { Store } from "../../packages/core/src/Store.ts"

/** The raw reads and writes the test makes, on a Redis or a Cluster connection. */
export type Admin = Pick<Redis, "lrangeBuffer" | "lpush" | "zrangeBuffer" | "hgetallBuffer">

export interface PayloadBytesSetup {
  readonly layer: Layer.Layer<Store, unknown>
  readonly admin: Effect.Effect<Admin, never, Scope.Scope>
  /** The keys of queue `q`, of node `n`'s in-progress entries of it, and of the dead set its payloads reach. */
  readonly keys: { readonly queue: string; readonly inProgress: string; readonly dead: string }
}

export const payloadBytesSuite = (title: string, setUp: () => PayloadBytesSetup): void => {
  describe(title, () => {
    const notText = Buffer.from([0x7b, 0xff, 0xfe, 0x7d])
    const likeMarker = Buffer.from(`${Payload.Marker}text`)

    it.live("a binary-form payload is written as its bytes, and bytes pushed by others read as that form", () => {
      const { layer, keys, ...setup } = setUp()
      return Effect.gen(function* () {
        const store = yield* Store
        const admin = yield* setup.admin
        yield* store.enqueue("q", [Payload.fromBytes(notText), Payload.fromBytes(likeMarker), "text"])
        const stored = yield* Effect.promise(() => admin.lrangeBuffer(keys.queue, 0, -1))
        assert.deepStrictEqual(stored, [Buffer.from("text"), likeMarker, notText])

        yield* Effect.promise(() => admin.lpush(keys.queue, notText))
        const fetched = yield* store.fetch("q", "n", 10)
        assert.deepStrictEqual(
          fetched.jobs.map(({ raw }) => raw),
          [Payload.fromBytes(notText), Payload.fromBytes(likeMarker), "text", Payload.fromBytes(notText)],
        )
        yield* store.kill("q", "n", fetched.jobs[0]?.token ?? "", fetched.jobs[1]?.raw ?? "", 5, {
          maxJobs: 10,
          maxAgeSeconds: 1_000,
        })
        assert.deepStrictEqual(yield* Effect.promise(() => admin.zrangeBuffer(keys.dead, "0", "-1")), [likeMarker])
        // The entry of the first job went; the others keep their bytes, under their tokens.
        const held = yield* Effect.promise(() => admin.hgetallBuffer(keys.inProgress))
        assert.deepStrictEqual(
          Object.entries(held).sort(([a], [b]) => Number(a) - Number(b)),
          fetched.jobs.slice(1).map(({ token }, k) => [token, [likeMarker, Buffer.from("text"), notText][k]!]),
        )
      }).pipe(Effect.provide(layer))
    })
  })
}
