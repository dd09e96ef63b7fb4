/**
 * `verk run --web-port` gives its dashboard the module's limits (its workers' and its queues'), so
 * that the Limits page and `api/limits` show a budget against its limit and window; the same
 * budget from `verk web`, which has no module, shows its use only.
 */
import { Effect } from "effect"
import { assert, it } from "vitest"
import { LimitStore } from "../../packages/core/src/Store.ts"
import type { LimitView } from "../../packages/node/src/AdminLimits.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { fixture, startVerk } from "../cli/support.ts"
import { freePort, startRedisServer } from "../support/redisServer.ts"

const limitsAt = async (port: number) =>
  (await (await fetch(`http://127.0.0.1:${port}/api/limits`)).json()) as ReadonlyArray<LimitView>

it("verk run --web-port measures budgets against its module's limits; verk web shows the use only", {
  timeout: 60_000,
}, async () => {
  const server = await startRedisServer()
  try {
    // A start of the module's queue limit `smtp` (100 a second), kept a minute so the test is not raced.
    await Effect.runPromise(
      LimitStore.use((store) => store.takeRate("smtp", 100, 60_000, "a")).pipe(
        Effect.provide(RedisStore.layer({ url: server.url })),
      ),
    )
    const runPort = await freePort()
    const webPort = await freePort()
    const run = startVerk(["run", fixture("limitsModule.ts"), "--web-port", String(runPort)], { REDIS_URL: server.url })
    const web = startVerk(["web", "--port", String(webPort)], { REDIS_URL: server.url })
    await run.waitFor(`Verk Web on http://127.0.0.1:${runPort}/`)
    await web.waitFor(`Verk Web on http://127.0.0.1:${webPort}/`)
    const known = await limitsAt(runPort)
    assert.deepStrictEqual(
      known.map(({ kind, budget, name, used, limit, windowMillis }) => ({
        kind,
        budget,
        name,
        used,
        limit,
        windowMillis,
      })),
      [{ kind: "rate", budget: "smtp", name: "smtp", used: 1, limit: 100, windowMillis: 1000 }],
    )
    const bare = await limitsAt(webPort)
    assert.deepStrictEqual(
      bare.map(({ budget, used, limit }) => ({ budget, used, limit })),
      [{ budget: "smtp", used: 1, limit: undefined }],
    )
  } finally {
    await server.stop()
  }
})
