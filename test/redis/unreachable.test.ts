import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"

// Nothing listens on port 1: the first connect fails at once with one readable error, whatever the
// topology (ioredis alone would go on retrying Sentinel and Cluster startup nodes forever).
describe("a store whose Redis cannot be reached fails to start at once", () => {
  for (const [name, options, target] of [
    ["Cluster", { cluster: { nodes: [{ host: "127.0.0.1", port: 1 }] } }, "cluster nodes 127.0.0.1:1"],
    [
      "Sentinel",
      { sentinel: { nodes: [{ host: "127.0.0.1", port: 1 }], name: "jobs" } },
      'primary "jobs" via Sentinel 127.0.0.1:1',
    ],
  ] as const) {
    it.live(name, () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(Layer.build(RedisStore.layer(options)))
        assert.isTrue(Exit.isFailure(exit))
        assert.include(String(exit), `Store operation connect failed: cannot connect to Redis at ${target}`)
      }).pipe(Effect.scoped, Effect.timeout("5 seconds")),
    )
  }
})
