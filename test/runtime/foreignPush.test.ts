/**
 * A job pushed by a foreign client (a bare LPUSH, which notifies nobody) on an idle queue is found
 * by the node's poll (one look at every queue each poll interval), not by the idle fallback.
 */
import { assert, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Layer, Schema } from "effect"
import { Redis } from "ioredis"
import * as Verk from "../../packages/core/src/Verk.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { cleanupNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"

it.live("a bare LPUSH on an idle queue runs within the poll interval", () =>
  Effect.gen(function* () {
    const url = redisUrl()
    const namespace = uniqueNamespace()
    const ran = yield* Deferred.make<number>()
    const Foreign = Worker.make({
      name: "Foreign",
      args: Schema.Tuple([Schema.Int]),
      perform: () =>
        Effect.flatMap(
          Effect.clockWith((clock) => clock.currentTimeMillis),
          (at) => Deferred.succeed(ran, at),
        ),
    })
    yield* Effect.gen(function* () {
      yield* Verk.Verk
      yield* Effect.sleep("300 millis") // idle: the queues have polled and found nothing
      const client = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(url)),
        (redis) => Effect.sync(() => redis.disconnect()),
      )
      const pushedAt = Date.now()
      yield* Effect.promise(() =>
        client.lpush(
          `${namespace}:queue:mail`,
          JSON.stringify({ class: "Foreign", queue: "mail", args: [1], jid: "f00", retry: true }),
        ),
      )
      const startedAt = yield* Deferred.await(ran).pipe(Effect.timeout("5 seconds"))
      // Not a speed test: well under the 2 s idle fallback means the node's poll found it.
      assert.isBelow(startedAt - pushedAt, 1_000, "found by the node's poll")
    }).pipe(
      Effect.scoped,
      Effect.provide(
        Verk.layer({
          workers: [Foreign],
          queues: { default: 1, mail: 1, other: 1 },
          pollInterval: Duration.millis(200),
          logLevels: { start: "None", done: "None", fail: "None" },
        }).pipe(
          Layer.provideMerge(Layer.merge(RedisStore.layer({ url, namespace }), cleanupNamespace(url, namespace))),
        ),
      ),
    )
  }),
)
