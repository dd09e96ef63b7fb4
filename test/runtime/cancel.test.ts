/**
 * Cancelling on a node (in-memory store): a running job is interrupted (its finalizer runs), leaves
 * in-progress with nothing else written, and is announced (`JobCancelled`) and counted
 * (`verk_jobs_cancelled_total`); a job whose cancel came first is dropped before it starts.
 */
import { assert, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Metric, Schema, Stream } from "effect"
import * as Cancel from "../../packages/core/src/Cancel.ts"
import { Client } from "../../packages/core/src/Client.ts"
import { Events, type VerkEvent } from "../../packages/core/src/Events.ts"
import { Store } from "../../packages/core/src/Store.ts"
import * as Testing from "../../packages/core/src/testing.ts"
import * as Worker from "../../packages/core/src/Worker.ts"

const started = Deferred.makeUnsafe<void>()
const finalized = Deferred.makeUnsafe<void>()

const Sleeper = Worker.make({
  name: "CancelSleeper",
  args: Schema.Tuple([]),
  perform: () =>
    Deferred.succeed(started, undefined).pipe(
      Effect.andThen(Effect.sleep("1 hour")),
      Effect.ensuring(Deferred.succeed(finalized, undefined)),
    ),
})
const Quick = Worker.make({ name: "CancelQuick", args: Schema.Tuple([]), perform: () => Effect.void })

const quiet = { logLevels: { start: "None", done: "None", fail: "None" } } as const

const cancelledCount = (className: string) =>
  Effect.map(Metric.snapshot, (snapshots) => {
    const found = snapshots.find(
      (snapshot) =>
        snapshot.id === "verk_jobs_cancelled_total" &&
        snapshot.attributes?.queue === "default" &&
        snapshot.attributes?.class === className,
    )
    return (found?.state as { readonly count: number } | undefined)?.count ?? 0
  })

it.live("a running job is interrupted, its finalizer runs, JobCancelled is published and counted", () =>
  Effect.gen(function* () {
    const client = yield* Client
    const store = yield* Store
    const events = yield* (yield* Events).subscribe
    const seen: Array<VerkEvent> = []
    const cancelled = yield* events.pipe(
      Stream.tap((event) => Effect.sync(() => seen.push(event))),
      Stream.filter((event) => event._tag === "JobCancelled"),
      Stream.take(1),
      Stream.runCollect,
      Effect.forkScoped,
    )
    const { jid } = yield* client.enqueue(Sleeper, [])
    yield* Deferred.await(started)
    const result = yield* Cancel.cancel(jid)
    assert.strictEqual(result._tag, "Interrupted")
    const [event] = yield* Fiber.join(cancelled)
    assert.include(event, { _tag: "JobCancelled", queue: "default", jid, className: "CancelSleeper", started: true })
    assert.isTrue(yield* Deferred.isDone(finalized))
    assert.deepStrictEqual(
      seen.filter((event) => event._tag === "JobFinished" || event._tag === "JobFailed" || event._tag === "JobDead"),
      [],
    )
    for (const node of yield* store.nodes) assert.deepStrictEqual(yield* store.inProgress("default", node), [])
    assert.strictEqual(yield* store.setSize("dead"), 0)
    assert.strictEqual(yield* store.setSize("retry"), 0)
    assert.strictEqual(yield* cancelledCount("CancelSleeper"), 1)
  }).pipe(
    Effect.provide(Testing.layerReal([Sleeper, Quick], quiet)),
    Effect.provideService(Metric.MetricRegistry, new Map()),
  ),
)

it.live("a job whose cancel came before its fetch never starts; a later job runs", () =>
  Effect.gen(function* () {
    const client = yield* Client
    const store = yield* Store
    const events = yield* (yield* Events).subscribe
    const seen: Array<VerkEvent> = []
    const fence = yield* events.pipe(
      Stream.tap((event) => Effect.sync(() => seen.push(event))),
      Stream.filter((event) => event._tag === "JobFinished"),
      Stream.take(1),
      Stream.runDrain,
      Effect.forkScoped,
    )
    // The marker is written first, as when a node fetches the job while the cancel is under way.
    yield* store.markCancelled("early", 0, Number.MAX_SAFE_INTEGER)
    yield* client.enqueue(Sleeper, [], { jid: "early" })
    yield* client.enqueue(Quick, [])
    yield* Fiber.join(fence)
    const early = seen.filter((event) => "jid" in event && event.jid === "early")
    assert.deepStrictEqual(
      early.map((event) => event._tag),
      ["JobCancelled"],
    )
    assert.include(early[0], { started: false })
    assert.strictEqual(yield* cancelledCount("CancelSleeper"), 1)
  }).pipe(
    Effect.provide(Testing.layerReal([Sleeper, Quick], quiet)),
    Effect.provideService(Metric.MetricRegistry, new Map()),
  ),
)
