/**
 * The README's cancel example (cancel.ts) on the in-memory store: the running export is
 * interrupted by `stopExport`, its finalizer runs, and the node publishes `JobCancelled`; a second
 * call says it was cancelled already.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as Client from "../../packages/core/src/Client.ts"
import { Events } from "../../packages/core/src/Events.ts"
import * as Testing from "../../packages/core/src/testing.ts"
import { ExportReport, stopExport } from "./cancel.ts"

it.live("stopExport interrupts the running export; the node says JobCancelled", () =>
  Effect.gen(function* () {
    const events = yield* (yield* Events).subscribe
    const startedOrCancelled = (tag: "JobStarted" | "JobCancelled") =>
      events.pipe(
        Stream.filter((event) => event._tag === tag),
        Stream.take(1),
        Stream.runCollect,
        Effect.forkScoped,
      )
    const started = yield* startedOrCancelled("JobStarted")
    const cancelled = yield* startedOrCancelled("JobCancelled")
    const { jid } = yield* (yield* Client.Client).enqueue(ExportReport, ["q3-sales"])
    yield* Fiber.join(started)
    assert.strictEqual((yield* stopExport(jid))._tag, "Interrupted")
    const [event] = yield* Fiber.join(cancelled)
    assert.include(event, { _tag: "JobCancelled", jid, started: true })
    assert.deepStrictEqual(yield* stopExport(jid), { _tag: "AlreadyCancelled", jid })
  }).pipe(
    Effect.provide(Testing.layerReal([ExportReport], { logLevels: { start: "None", done: "None", fail: "None" } })),
  ),
)
