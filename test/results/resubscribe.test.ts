/**
 * Result waits hear notices, they do not poll, and a notice lost while the subscriber reconnects
 * is made up for: once the subscription is back (`Resubscribed`), every waiting jid's result is
 * read again. On a private redis-server (killing pub/sub clients would hit other tests'
 * subscribers on the shared one); records are written by hand, with or without their notice.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import * as Client from "../../packages/core/src/Client.ts"
import * as JobResult from "../../packages/core/src/JobResult.ts"
import { Store } from "../../packages/core/src/Store.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { privateRedis } from "../fault/support.ts"
import { Square } from "./squareWorker.ts"

const local = privateRedis()

const record = (n: number) => JSON.stringify({ status: "succeeded", value: { n, square: n * n, at: 0 } })

/** Writes a result as a job run would, but without its notice (a publish lost on the way). */
const writeSilently = (jid: string, n: number) =>
  Effect.promise(() => local.redis.set(`verk:result:${jid}`, record(n), "PX", 60_000))

it.live("a result written without its notice reaches its waiter once the subscription is back", () =>
  Effect.gen(function* () {
    const store = yield* Store
    const lost = yield* Effect.forkChild(Client.result(Square, "lost"))
    const heard = yield* Effect.forkChild(Client.result(Square, "heard"))
    // The waits registered and read before this read's reply: one connection, replies in order.
    for (let i = 0; i < 10; i++) yield* Effect.yieldNow
    assert.isUndefined(yield* store.readResult("nothing"))
    yield* writeSilently("lost", 2)
    // The fence: a notice for the other wait, published after the silent write, is heard...
    yield* writeSilently("heard", 3)
    yield* Effect.promise(() => local.redis.publish("verk:notify", "done:heard"))
    assert.strictEqual((yield* Fiber.join(heard)).square, 9)
    // ...and the wait whose notice was lost is still waiting: nobody polls.
    assert.isUndefined(lost.pollUnsafe())
    // The subscriber reconnects: the store says Resubscribed, and the waiter reads again.
    const killed = yield* Effect.promise(() => local.redis.call("CLIENT", "KILL", "TYPE", "pubsub"))
    assert.isAtLeast(Number(killed), 1)
    const result = yield* Fiber.join(lost).pipe(Effect.timeout("10 seconds"))
    assert.strictEqual(result.square, 4)
  }).pipe(
    Effect.provide(
      Layer.provideMerge(
        JobResult.layer,
        Layer.suspend(() => RedisStore.layer({ url: local.server.url })),
      ),
    ),
  ),
)
