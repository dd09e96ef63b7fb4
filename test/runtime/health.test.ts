/** Verk.health: heartbeating, and every loop (heartbeat, recovery, scheduler, each queue's fetcher) alive. */
import { assert, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Schedule, Schema } from "effect"
import * as Client from "../../packages/core/src/Client.ts"
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

const Started = Deferred.makeUnsafe<void>()
const Release = Deferred.makeUnsafe<void>()
const Held = Worker.make({
  name: "HealthHeld",
  args: Schema.Tuple([]),
  perform: () => Deferred.succeed(Started, undefined).pipe(Effect.andThen(Deferred.await(Release))),
})

it.live("Verk.running lists the jobs running on the node, with class, jid, queue and start", () =>
  Effect.gen(function* () {
    const verk = yield* Verk.Verk
    assert.deepStrictEqual(yield* verk.running, [])
    const before = yield* Clock.currentTimeMillis
    const job = yield* Client.enqueue(Held, [])
    yield* Deferred.await(Started)
    const running = yield* verk.running
    assert.strictEqual(running.length, 1)
    assert.deepInclude(running[0], { queue: "default", jid: job.jid, className: "HealthHeld" })
    assert.isAtLeast(running[0]?.startedMillis ?? 0, before)
    yield* Deferred.succeed(Release, undefined)
    // Gone once it finished (the lease is released with its fiber, after the outcome's write).
    yield* Effect.repeat(verk.running, { until: (jobs) => jobs.length === 0, schedule: Schedule.spaced("5 millis") })
  }).pipe(Effect.provide(Testing.layerReal([Held], { queues: { default: 2 } }))),
)
