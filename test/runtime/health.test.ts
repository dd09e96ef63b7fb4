/** Verk.health: heartbeating, and every loop (heartbeat, recovery, scheduler, each queue's fetcher) alive. */
import { assert, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Testing from "../../packages/core/src/testing.ts"
import * as Verk from "../../packages/core/src/Verk.ts"
import * as Worker from "../../packages/core/src/Worker.ts"

const Noop = Worker.make({ name: "HealthNoop", args: Schema.Tuple([]), perform: () => Effect.void })

it.live("a running node is healthy, and its health lists every loop", () =>
  Effect.gen(function* () {
    const verk = yield* Verk.Verk
    const health = yield* verk.health
    assert.isTrue(health.healthy)
    assert.strictEqual(health.nodeId, verk.nodeId)
    assert.isAtLeast(health.sinceHeartbeatMillis ?? -1, 0)
    assert.deepStrictEqual(health.loops, {
      heartbeat: true,
      recovery: true,
      scheduler: true,
      queues: { default: true, mail: true },
    })
    yield* verk.removeQueue("mail")
    assert.deepStrictEqual((yield* verk.health).loops.queues, { default: true })
  }).pipe(Effect.provide(Testing.layerReal([Noop], { queues: { default: 2, mail: 1 } }))),
)
