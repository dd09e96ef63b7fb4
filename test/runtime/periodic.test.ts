/**
 * Acceptance (issue 21, periodic jobs) under TestClock, on every store kind: a `*\/5 * * * *`
 * entry enqueues 12 jobs in an hour under deterministic jids; after missed ticks a restarted node
 * enqueues none of them (the default) or the last one (`missed: "last"`); a paused entry enqueues
 * nothing while another entry's ticks keep arriving (the fence); `run now` enqueues one job.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Layer, Schema, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Inspection from "../../packages/core/src/Inspection.ts"
import * as Periodic from "../../packages/core/src/Periodic.ts"
import type * as Settings from "../../packages/core/src/Settings.ts"
import * as Testing from "../../packages/core/src/testing.ts"
import * as Verk from "../../packages/core/src/Verk.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { eventually, forEachStore, queueJobs, quietLogs, type StoreKind, T0, type TestStore } from "./support.ts"

const Report = Worker.make({
  name: "Report",
  queue: "reports",
  args: Schema.Tuple([Schema.String]),
  perform: () => Effect.void,
})

/** Loops that would wake on every adjust are slowed; the node serves no queue, so jobs stay put. */
const settings: Settings.Input = {
  queues: {},
  pollInterval: "1 hour",
  heartbeatInterval: "1 hour",
  statsFlushInterval: "1 hour",
  shutdownTimeout: "1 second",
}

const MINUTE = 60_000

/** A runtime with `periodic` on the store, in `scope` (default: the test's). */
const startNode = Effect.fnUntraced(function* (
  store: TestStore,
  periodic: ReadonlyArray<Periodic.Entry>,
  scope?: Scope.Scope,
  overrides: Settings.Input = {},
) {
  const layer = Verk.layer({ ...settings, ...overrides, workers: [Report], periodic }).pipe(
    Layer.provideMerge(Layer.succeedContext(store.context)),
  )
  yield* Layer.buildWithScope(layer, scope ?? (yield* Effect.scope))
  // The loop declares its entries first thing: listed means running.
  yield* eventually(
    "the node declares its entries",
    Effect.map(store.store.periodicRecords, (records) => periodic.every((e) => records.some((r) => r.name === e.name))),
  )
})

const jids = (store: TestStore, queue = "reports") =>
  Effect.map(queueJobs(store, queue), (jobs) => jobs.map((job) => job.jid as string).reverse())

/** Moves the clock `millis` ahead, then waits for the queue to hold `expected` jobs. */
const step = Effect.fnUntraced(function* (store: TestStore, millis: number, expected: number, queue = "reports") {
  yield* store.settle
  yield* TestClock.adjust(millis)
  yield* eventually(
    `${expected} jobs in ${queue}`,
    Effect.map(store.store.queueSize(queue), (size) => size >= expected),
  )
  yield* store.settle
})

const periodicSuite = (kind: StoreKind) => {
  it.effect("*/5 * * * *: 12 jobs in an hour, one per tick, under deterministic jids", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const store = yield* kind.open
      const entry = Periodic.make({ name: "five", cron: "*/5 * * * *", worker: Report, args: ["x"] })
      yield* startNode(store, [entry])
      for (let tick = 1; tick <= 12; tick++) yield* step(store, 5 * MINUTE, tick)
      const expected = Array.from({ length: 12 }, (_, i) => Periodic.jidOf("five", T0 + (i + 1) * 5 * MINUTE))
      assert.deepStrictEqual(yield* jids(store), expected)
      const [first] = yield* queueJobs(store, "reports")
      assert.strictEqual(first?.class, "Report")
      assert.deepStrictEqual(first?.args, ["x"])
      // The listing: last run at the hour, next run five minutes later.
      const [listed] = yield* Inspection.Periodic.list.pipe(Effect.provideContext(store.context))
      assert.strictEqual(listed?.name, "five")
      assert.strictEqual(listed?.lastRun, T0 + 60 * MINUTE)
      assert.strictEqual(listed?.nextRun, T0 + 65 * MINUTE)
      assert.strictEqual(listed?.cron, "*/5 * * * *")
      assert.isFalse(listed?.paused)
    }).pipe(quietLogs),
  )

  it.effect("argsAt: the job's args are computed from its tick's time", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const store = yield* kind.open
      const entry = Periodic.make({
        name: "dated",
        cron: "0 * * * *",
        worker: Report,
        argsAt: (tick) => [new Date(tick.epochMilliseconds).toISOString()] as const,
      })
      yield* startNode(store, [entry])
      yield* step(store, 60 * MINUTE, 1)
      const [job] = yield* queueJobs(store, "reports")
      assert.deepStrictEqual(job?.args, ["2025-01-01T01:00:00.000Z"])
    }).pipe(quietLogs),
  )

  const restartAfterMissedTicks = (missed: Periodic.Missed, expectedAfterRestart: ReadonlyArray<number>) =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const store = yield* kind.open
      const entry = Periodic.make({ name: "minutely", cron: "* * * * *", worker: Report, args: ["m"], missed })
      const first = yield* Scope.make()
      yield* startNode(store, [entry], first)
      yield* step(store, MINUTE, 1)
      yield* Scope.close(first, Effect.void.pipe(Effect.exit) as never)
      // Down through the ticks at 2, 3 and 4 minutes; back at 4m30s.
      yield* TestClock.adjust(3 * MINUTE + 30_000)
      yield* startNode(store, [entry])
      yield* store.settle
      assert.deepStrictEqual(
        yield* jids(store),
        [T0 + MINUTE, ...expectedAfterRestart].map((tick) => Periodic.jidOf("minutely", tick)),
        "after the restart",
      )
      // The fence: the next tick (5 minutes) arrives, so the node is running its entry.
      yield* step(store, 30_000, 2 + expectedAfterRestart.length)
      assert.deepStrictEqual(
        yield* jids(store),
        [T0 + MINUTE, ...expectedAfterRestart, T0 + 5 * MINUTE].map((tick) => Periodic.jidOf("minutely", tick)),
      )
    }).pipe(quietLogs)

  it.effect("3 missed ticks: a restarted node enqueues none of them (default)", () =>
    restartAfterMissedTicks("skip", []),
  )
  it.effect('3 missed ticks: a restarted node enqueues the last one (missed: "last")', () =>
    restartAfterMissedTicks("last", [T0 + 4 * MINUTE]),
  )

  it.effect("a paused entry enqueues nothing while another entry's ticks arrive; resumed, it enqueues again", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const store = yield* kind.open
      const paused = Periodic.make({ name: "paused", cron: "* * * * *", worker: Report, queue: "held", args: ["p"] })
      const fence = Periodic.make({ name: "fence", cron: "* * * * *", worker: Report, args: ["f"] })
      yield* startNode(store, [paused, fence])
      yield* Inspection.Periodic.pause("paused").pipe(Effect.provideContext(store.context))
      for (let tick = 1; tick <= 5; tick++) yield* step(store, MINUTE, tick)
      assert.strictEqual(yield* store.store.queueSize("held"), 0, "the paused entry enqueued nothing")
      const [listed] = yield* Inspection.Periodic.list.pipe(Effect.provideContext(store.context))
      assert.strictEqual(listed?.name, "fence")
      const held = (yield* Inspection.Periodic.list.pipe(Effect.provideContext(store.context))).find(
        (entry) => entry.name === "paused",
      )
      assert.isTrue(held?.paused)
      assert.isUndefined(held?.lastRun)
      yield* Inspection.Periodic.resume("paused").pipe(Effect.provideContext(store.context))
      yield* step(store, MINUTE, 1, "held")
      assert.deepStrictEqual(yield* jids(store, "held"), [Periodic.jidOf("paused", T0 + 6 * MINUTE)])
    }).pipe(quietLogs),
  )

  it.effect("run now: a node enqueues one job of the entry within its poll interval", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const store = yield* kind.open
      const entry = Periodic.make({ name: "daily", cron: "0 3 * * *", worker: Report, args: ["d"] })
      yield* startNode(store, [entry], undefined, { pollInterval: "5 seconds" })
      const at = yield* Inspection.Periodic.runNow("daily").pipe(Effect.provideContext(store.context))
      yield* step(store, 5_000, 1)
      assert.deepStrictEqual(yield* jids(store), [Periodic.runNowJidOf("daily", at)])
      // Taken once: later polls find no request.
      yield* TestClock.adjust(10_000)
      yield* store.settle
      assert.strictEqual(yield* store.store.queueSize("reports"), 1)
      const missing = yield* Effect.flip(Inspection.Periodic.pause("nope").pipe(Effect.provideContext(store.context)))
      assert.strictEqual(missing._tag, "PeriodicEntryNotFound")
    }).pipe(quietLogs),
  )
}

forEachStore(periodicSuite)

it("Periodic.make refuses a bad name, cron expression or time zone", () => {
  const make = (options: { name?: string; cron?: string; timeZone?: string }) => () =>
    Periodic.make({ name: "ok", cron: "* * * * *", worker: Report, args: ["a"], ...options })
  assert.throws(make({ name: "has space" }), /periodic entry name/)
  assert.throws(make({ cron: "61 * * * *" }), /Invalid periodic entry/)
  assert.throws(make({ cron: "* * *" }), /Invalid number of segments/)
  assert.throws(make({ timeZone: "Mars/Olympus" }), /time zone/)
  assert.strictEqual(make({ cron: "*/10 * * * * *", timeZone: "Europe/Paris" })().timeZone, "Europe/Paris")
})

it.effect("two different entries with one name are a defect at start", () =>
  Effect.gen(function* () {
    const a = Periodic.make({ name: "same", cron: "* * * * *", worker: Report, args: ["a"] })
    const b = Periodic.make({ name: "same", cron: "0 * * * *", worker: Report, args: ["b"] })
    const exit = yield* Effect.exit(Effect.scoped(Layer.build(Verk.layerPeriodic([a, b]))))
    assert.strictEqual(exit._tag, "Failure")
    assert.include(String(exit._tag === "Failure" ? exit.cause : ""), "same")
  }),
)

it.effect("testing.layerReal runs periodic entries under TestClock: a job a tick, run by its worker", () =>
  Effect.gen(function* () {
    // The clock starts at 0 (1970-01-01T00:00Z): ticks at 00:05 and 00:10.
    yield* TestClock.adjust("10 minutes")
    const finished = (yield* Testing.events).filter(
      (event) => event._tag === "JobFinished" && event.className === "Report",
    )
    assert.deepStrictEqual(
      finished.map((event) => (event._tag === "JobFinished" ? event.jid : "")),
      [Periodic.jidOf("often", 5 * MINUTE), Periodic.jidOf("often", 10 * MINUTE)],
    )
  }).pipe(
    Effect.provide(
      Testing.layerReal([Report], {
        periodic: [Periodic.make({ name: "often", cron: "*/5 * * * *", worker: Report, args: ["r"] })],
      }),
    ),
    quietLogs,
  ),
)
