/**
 * The periodic keys as the README's "Redis keys" names them, in both key schemes: the cluster
 * scheme keeps an entry's state in its queue's slot (claimed with the push of its job) and the
 * registry with the shared registries. An entry's state expires (nothing is left behind once no
 * node declares it): every write sets its expiry, a declaration renews it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { PeriodicStateSeconds, Store } from "../../packages/core/src/Store.ts"
import * as Keys from "../../packages/redis/src/Keys.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import * as Slots from "../../packages/redis/src/Slots.ts"
import { cleanupNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"

describe("periodic keys", () => {
  it("Sidekiq's scheme: verk:periodic, verk:periodic-seen, verk:periodic:<name>", () => {
    const keys = Keys.make("app")
    assert.strictEqual(keys.periodic, "app:verk:periodic")
    assert.strictEqual(keys.periodicSeen, "app:verk:periodic-seen")
    assert.strictEqual(keys.periodicState("reports", "nightly"), "app:verk:periodic:nightly")
  })

  it("the cluster scheme: the state in its queue's slot, the registry in {verk}'s", () => {
    const keys = Keys.make("app", "cluster")
    assert.strictEqual(keys.periodicState("reports", "nightly"), "app:verk:periodic:{reports}:nightly")
    assert.strictEqual(Slots.of(keys.periodicState("reports", "nightly")), Slots.of(keys.queue("reports")))
    assert.strictEqual(Slots.of(keys.periodic), Slots.of(keys.queues))
    assert.strictEqual(Slots.of(keys.periodicSeen), Slots.of(keys.queues))
  })

  for (const keyScheme of ["sidekiq", "cluster"] as const) {
    it.live(`${keyScheme} scheme: an entry's state expires ${PeriodicStateSeconds} s after its last write`, () =>
      Effect.gen(function* () {
        const url = redisUrl()
        const namespace = uniqueNamespace()
        const context = yield* Layer.build(
          Layer.merge(RedisStore.layer({ url, namespace, keyScheme }), cleanupNamespace(url, namespace)),
        )
        const store = Context.get(context, Store)
        const redis = yield* Effect.acquireRelease(
          Effect.sync(() => new Redis(url)),
          (client) => Effect.sync(() => client.disconnect()),
        )
        const entry = { name: "nightly", queue: "reports" }
        const stateKey = Keys.make(namespace, keyScheme).periodicState("reports", "nightly")
        const ttl = () => Effect.promise(() => redis.ttl(stateKey))
        yield* store.claimPeriodic(
          entry,
          { _tag: "Tick", tick: 1_000 },
          '{"class":"X","args":[],"jid":"j","queue":"reports"}',
        )
        assert.isTrue((yield* ttl()) > PeriodicStateSeconds - 60 && (yield* ttl()) <= PeriodicStateSeconds)
        yield* Effect.promise(() => redis.expire(stateKey, 100))
        yield* store.setPeriodicPaused(entry, true)
        assert.isAbove(yield* ttl(), 100, "a pause renews it")
        yield* Effect.promise(() => redis.expire(stateKey, 100))
        yield* store.declarePeriodic([{ ...entry, description: "{}" }], Date.now(), 600_000)
        assert.isAbove(yield* ttl(), 100, "a declaration renews it")
        assert.strictEqual(yield* Effect.promise(() => redis.hget(stateKey, "paused")), "1")
      }).pipe(Effect.scoped),
    )
  }
})
