import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { Store } from "../../packages/core/src/Store.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { cleanupNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"

// The test Redis has no replicas, so a write that must reach one can only time out: the caller
// hears it, and the write itself stays on the primary (WAIT cannot take it back).
describe("RedisStore durability (WAIT)", () => {
  const layer = (replicas: number) => {
    const url = redisUrl()
    const namespace = uniqueNamespace()
    return Layer.merge(
      RedisStore.layer({ url, namespace, durability: { replicas, timeout: "50 millis" } }),
      cleanupNamespace(url, namespace),
    )
  }

  it.live("an enqueue that no replica acknowledges in time fails with NotReplicated, naming the counts", () =>
    Effect.gen(function* () {
      const store = yield* Store
      const exit = yield* Effect.exit(store.enqueue("q", ["a"]))
      assert.isTrue(Exit.isFailure(exit))
      assert.include(
        String(exit),
        "Store operation enqueue failed: only 0 of 1 replicas acknowledged the write in time",
      )
      assert.strictEqual(yield* store.queueSize("q"), 1)
    }).pipe(Effect.provide(layer(1))),
  )

  it.live("outcomes wait too: ack, retry and kill fail the same way", () =>
    Effect.gen(function* () {
      const store = yield* Store
      const setup = yield* Effect.exit(store.enqueue("q", ["a", "b", "c"]))
      assert.isTrue(Exit.isFailure(setup))
      const { jobs } = yield* store.fetch("q", "n", 3)
      assert.strictEqual(jobs.length, 3)
      const [a, b, c] = jobs.map(({ token }) => token)
      for (const [name, outcome] of [
        ["ack", store.ack("q", "n", [a!])],
        ["retry", store.retry("q", "n", b!, "b", 10)],
        ["kill", store.kill("q", "n", c!, "c", 10, { maxJobs: 10, maxAgeSeconds: 100 })],
      ] as const) {
        const exit = yield* Effect.exit(outcome)
        assert.include(String(exit), `Store operation ${name} failed: only 0 of 1 replicas`, name)
      }
      assert.deepStrictEqual(yield* store.inProgress("q", "n"), [])
    }).pipe(Effect.provide(layer(1))),
  )
})
