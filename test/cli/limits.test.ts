/**
 * `verk limits` lists the budgets of limits in use on a Redis, as a table and as JSON: a rate
 * budget with its starts, a concurrency budget with its running jobs and their nodes. `verk` is a
 * real process; the usage is written through the store, as nodes admitting jobs write it.
 */
import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import type * as Limits from "../../packages/core/src/Limits.ts"
import { LimitStore } from "../../packages/core/src/Store.ts"
import { load } from "../../packages/node/src/cli/run.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { uniqueNamespace } from "../support/redis.ts"
import { type RedisServer, startRedisServer } from "../support/redisServer.ts"
import { fixture, verk } from "./support.ts"

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(async () => {
  await server.stop()
})

it.live(
  "verk limits shows each budget in use: rate starts, concurrency holders and their nodes",
  () =>
    Effect.gen(function* () {
      const namespace = uniqueNamespace()
      const env = { REDIS_URL: server.url, VERK_NAMESPACE: namespace }
      const empty = yield* Effect.promise(() => verk(["limits"], env))
      assert.strictEqual(empty.code, 0, empty.stderr)
      assert.strictEqual(empty.stdout.trim(), "no limit in use")
      yield* Effect.gen(function* () {
        const store = yield* LimitStore
        yield* store.takeRate("crm:acme", 5, 60_000, "a")
        yield* store.takeRate("crm:acme", 5, 60_000, "b")
        yield* store.acquireHold("pdf", 4, "node-1", "node-1:default:1")
        yield* store.acquireHold("pdf", 4, "node-1", "node-1:default:2")
        yield* store.acquireHold("pdf", 4, "node-2", "node-2:default:1")
      }).pipe(Effect.provide(RedisStore.layer({ url: server.url, namespace })))
      const json = yield* Effect.promise(() => verk(["limits", "--json"], env))
      assert.strictEqual(json.code, 0, json.stderr)
      const usage = JSON.parse(json.stdout) as ReadonlyArray<{ kind: string; budget: string; used: number }>
      assert.deepStrictEqual(
        usage.map(({ kind, budget, used }) => ({ kind, budget, used })),
        [
          { kind: "concurrency", budget: "pdf", used: 3 },
          { kind: "rate", budget: "crm:acme", used: 2 },
        ],
      )
      const table = yield* Effect.promise(() => verk(["limits"], env))
      assert.strictEqual(table.code, 0, table.stderr)
      assert.match(table.stdout, /^KIND +BUDGET +USED +NODES$/m)
      assert.match(table.stdout, /^concurrency +pdf +3 +node-1 \(2\), node-2$/m)
      assert.match(table.stdout, /^rate +crm:acme +2 +-$/m)
    }),
  60_000,
)

it.effect("verk run takes a Verk.module's limits per queue", () =>
  Effect.gen(function* () {
    const { workers, queueLimits } = yield* load(fixture("limitsModule.ts"))
    const exported = (yield* Effect.promise(() => import("./fixtures/limitsModule.ts"))) as Record<string, unknown>
    assert.deepStrictEqual(
      workers.map((worker) => worker.name),
      ["LimitedMail"],
    )
    assert.deepStrictEqual(queueLimits, { mail: [exported.Smtp as Limits.Limit] })
  }),
)
