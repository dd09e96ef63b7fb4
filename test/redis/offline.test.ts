/**
 * An enqueue while Redis is away fails within `offlineTimeout` with a `StoreError` of reason
 * `Unavailable`, instead of waiting out ioredis's reconnect attempts (about 9 s), and the failed
 * command is never sent: once Redis is back, it has pushed nothing.
 */
import { ConfigProvider, Effect, Exit, Layer, Schema } from "effect"
import * as Duration from "effect/Duration"
import { afterEach, describe, expect, it } from "vitest"
import * as Client from "../../packages/core/src/Client.ts"
import { StoreError } from "../../packages/core/src/StoreError.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { type RedisServer, startRedisServer } from "../support/redisServer.ts"

const Ping = Worker.make({ name: "Ping", args: Schema.Tuple([Schema.Int]), perform: () => Effect.void })

const servers: Array<RedisServer> = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop()
})

describe("an enqueue while Redis is unreachable", () => {
  it("fails within offlineTimeout with reason Unavailable, and is never sent later", async () => {
    const first = await startRedisServer()
    servers.push(first)
    const program = Effect.gen(function* () {
      const client = yield* Client.Client
      yield* client.enqueue(Ping, [1])
      yield* Effect.promise(() => first.stop())
      const startedAt = Date.now()
      const exit = yield* Effect.exit(client.enqueue(Ping, [2]))
      const tookMillis = Date.now() - startedAt
      // Back on the same port: the client reconnects; the failed command must not go out now.
      const second = yield* Effect.promise(() => startRedisServer({ port: first.port }))
      servers.push(second)
      yield* client.enqueue(Ping, [3]).pipe(Effect.timeout("10 seconds"))
      return { exit, tookMillis, second }
    }).pipe(
      Effect.scoped,
      Effect.provide(
        Client.layer.pipe(Layer.provideMerge(RedisStore.layer({ url: first.url, offlineTimeout: "300 millis" }))),
      ),
    )
    const { exit, tookMillis, second } = await Effect.runPromise(program)
    console.log(`enqueue to a stopped Redis failed after ${tookMillis} ms`)
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? exit.cause.reasons.find((reason) => reason._tag === "Fail") : undefined
    const failure = error?._tag === "Fail" ? error.error : undefined
    expect(failure).toBeInstanceOf(StoreError)
    expect((failure as StoreError).reason._tag).toBe("Unavailable")
    expect((failure as StoreError).message).toContain("offlineTimeout")
    expect(tookMillis).toBeGreaterThanOrEqual(250)
    expect(tookMillis, "within the bound (300 ms, looked at every 75 ms), far from ioredis's ~9 s").toBeLessThan(1_500)
    // The new server holds the enqueue made after it started, not the one that failed.
    const { Redis } = await import("ioredis")
    const admin = new Redis(second.url)
    try {
      const queue = (await admin.lrange("queue:default", 0, -1)).map((raw) => JSON.parse(raw).args)
      expect(queue).toEqual([[3]])
    } finally {
      admin.disconnect()
    }
  }, 30_000)

  it("reads VERK_REDIS_OFFLINE_TIMEOUT (a duration above zero), and leaves it unset by default", async () => {
    const read = (env: Record<string, string>) =>
      Effect.runPromiseExit(
        Effect.provide(RedisStore.config, ConfigProvider.layer<never, never>(ConfigProvider.fromEnv({ env }))),
      )
    const set = await read({ VERK_REDIS_OFFLINE_TIMEOUT: "2s" })
    expect(Exit.isSuccess(set) && Duration.toMillis(Duration.fromInputUnsafe(set.value.offlineTimeout ?? 0))).toBe(
      2_000,
    )
    const unset = await read({})
    expect(Exit.isSuccess(unset) && unset.value.offlineTimeout).toBe(undefined)
    const bad = await read({ VERK_REDIS_OFFLINE_TIMEOUT: "0s" })
    expect(Exit.isFailure(bad) && String(bad.cause)).toContain("VERK_REDIS_OFFLINE_TIMEOUT")
  })
})
