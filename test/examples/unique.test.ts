/**
 * The README's unique-jobs example (unique.ts): a duplicate names the first job's jid, which
 * inspection shows holding the lock; a burst of debounced edits leaves one waiting job with the
 * last revision.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import * as Client from "../../packages/core/src/Client.ts"
import * as MemoryStore from "../../packages/core/src/MemoryStore.ts"
import { Store } from "../../packages/core/src/Store.ts"
import { askForReports, editBurst } from "./unique.ts"

const layer = () => Client.layer.pipe(Layer.provideMerge(Layer.fresh(MemoryStore.layer)))

it.effect("a second ask for the same report is a Duplicate naming the first job, which holds the lock", () =>
  Effect.gen(function* () {
    const { first, again, holder } = yield* askForReports
    assert.strictEqual(first._tag, "Enqueued")
    const jid = first._tag === "Enqueued" ? first.job.jid : ""
    assert.deepStrictEqual(again, { _tag: "Duplicate", jid })
    assert.strictEqual(holder, jid)
    assert.strictEqual(yield* Store.use((store) => store.queueSize("default")), 1)
  }).pipe(Effect.provide(layer())),
)

it.effect("a burst of edits leaves one job waiting, with the last revision, 2 s after the last edit", () =>
  Effect.gen(function* () {
    yield* TestClock.setTime(Date.UTC(2026, 11, 7))
    const results = yield* editBurst
    assert.deepStrictEqual(
      results.map((result) => result._tag),
      ["Enqueued", "Replaced", "Replaced"],
    )
    const waiting = yield* Store.use((store) => store.setRange("schedule", 0, -1))
    assert.strictEqual(waiting.length, 1)
    const job = JSON.parse(waiting[0]!.payload) as { args: ReadonlyArray<unknown>; jid: string }
    assert.deepStrictEqual(job.args, ["guide", 3])
    assert.strictEqual(job.jid, results[0]!._tag === "Enqueued" ? results[0]!.job.jid : "")
    assert.strictEqual(waiting[0]!.score, Date.UTC(2026, 11, 7, 0, 0, 2) / 1000)
  }).pipe(Effect.provide(layer())),
)
