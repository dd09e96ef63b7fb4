/**
 * Effect Metrics: processed and failed counters by queue and class, the duration histogram, and
 * the busy gauge, read from a fresh metric registry after real jobs ran.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Fiber, Metric, Schema, Stream } from "effect"
import { Client } from "../../packages/core/src/Client.ts"
import { Events } from "../../packages/core/src/Events.ts"
import * as Testing from "../../packages/core/src/testing.ts"
import * as Worker from "../../packages/core/src/Worker.ts"

const Ok = Worker.make({ name: "MetricOk", args: Schema.Tuple([]), perform: () => Effect.void })
const Bad = Worker.make({ name: "MetricBad", args: Schema.Tuple([]), retry: 0, perform: () => Effect.fail("no") })

const find = (snapshots: ReadonlyArray<Metric.Metric.Snapshot>, id: string, className?: string) =>
  snapshots.find(
    (snapshot) =>
      snapshot.id === id &&
      snapshot.attributes?.queue === "default" &&
      (className === undefined || snapshot.attributes?.class === className),
  )

const stateOf = (snapshot: Metric.Metric.Snapshot | undefined): unknown => snapshot?.state

it.live("counters by queue and class, a duration histogram and a busy gauge", () =>
  Effect.gen(function* () {
    const client = yield* Client
    const events = yield* (yield* Events).subscribe
    const settled = yield* events.pipe(
      Stream.filter((event) => event._tag === "JobFinished" || event._tag === "JobDead"),
      Stream.take(3),
      Stream.runDrain,
      Effect.forkScoped,
    )
    yield* client.enqueue(Ok, [])
    yield* client.enqueue(Ok, [])
    yield* client.enqueue(Bad, [])
    yield* Fiber.join(settled)
    yield* Effect.sleep("20 millis")
    const snapshots = yield* Metric.snapshot
    assert.deepInclude(stateOf(find(snapshots, "verk_jobs_processed_total", "MetricOk")), { count: 2 })
    assert.deepInclude(stateOf(find(snapshots, "verk_jobs_failed_total", "MetricBad")), { count: 1 })
    assert.strictEqual(find(snapshots, "verk_job_duration_seconds", "MetricOk")?.type, "Histogram")
    assert.deepInclude(stateOf(find(snapshots, "verk_queue_busy")), { value: 0 })
  }).pipe(
    Effect.provide(Testing.layerReal([Ok, Bad], { logLevels: { start: "None", done: "None", fail: "None" } })),
    Effect.provideService(Metric.MetricRegistry, new Map()),
  ),
)
