/**
 * The periodic loop when the store fails: a claim refused is repeated (a claim is idempotent) and
 * its tick enqueued once; a claim refused past the retries gives that tick up on this node, and
 * the next tick is enqueued as usual. Time from TestClock; the store is the Probe of jobPath.ts.
 */
import { assert, it } from "@effect/vitest"
import { Effect, References, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as PeriodicLoop from "../src/internal/PeriodicLoop.ts"
import * as Periodic from "../src/Periodic.ts"
import * as Settings from "../src/Settings.ts"
import { context as storeContext } from "../src/Store.ts"
import * as Worker from "../src/Worker.ts"
import { Probe } from "./jobPath.ts"

/** The refusals are logged: kept out of the output. */
const quiet = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, References.MinimumLogLevel, "None")

const T0 = Date.UTC(2025, 0, 1)
const Tick = Worker.make({ name: "Tick", args: Schema.Tuple([]), perform: () => Effect.void })
const entry = Periodic.make({ name: "minutely", cron: "* * * * *", worker: Tick, args: [] })

const start = Effect.gen(function* () {
  const probe = yield* Probe
  yield* PeriodicLoop.run([entry]).pipe(
    Effect.provideContext(storeContext(probe.store)),
    Effect.provide(Settings.layer({ pollInterval: "1 hour" })),
    Effect.forkScoped,
  )
  yield* TestClock.adjust(0)
  return probe
})

const jids = (probe: Probe["Service"]) =>
  Effect.map(probe.memory.queueRange("default", 0, -1), (raws) =>
    raws.map((raw) => (JSON.parse(raw) as { jid: string }).jid).reverse(),
  )

it.effect("a refused claim is repeated a second later, and its tick enqueued once", () =>
  Effect.gen(function* () {
    yield* TestClock.setTime(T0)
    const probe = yield* start
    probe.refuse("claimPeriodic", 2)
    yield* TestClock.adjust("1 minute")
    assert.deepStrictEqual(yield* jids(probe), [])
    yield* TestClock.adjust("2 seconds")
    assert.deepStrictEqual(yield* jids(probe), [Periodic.jidOf("minutely", T0 + 60_000)])
    assert.strictEqual(probe.calls("claimPeriodic"), 3)
  }).pipe(Effect.provide(Probe.layer), quiet),
)

it.effect("a claim refused past its retries gives the tick up; the next tick is enqueued", () =>
  Effect.gen(function* () {
    yield* TestClock.setTime(T0)
    const probe = yield* start
    probe.refuse("claimPeriodic", 4)
    yield* TestClock.adjust("1 minute")
    yield* TestClock.adjust("5 seconds")
    assert.deepStrictEqual(yield* jids(probe), [])
    yield* TestClock.adjust("55 seconds")
    assert.deepStrictEqual(yield* jids(probe), [Periodic.jidOf("minutely", T0 + 120_000)])
    assert.strictEqual(probe.calls("claimPeriodic"), 5)
  }).pipe(Effect.provide(Probe.layer), quiet),
)
