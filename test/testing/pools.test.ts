/**
 * Acceptance: the testing kit's real mode runs shared pools, under TestClock, on the in-memory
 * store: a strict pool serving `critical, default` starts no default job while a critical job
 * waits, with both queues full when its slots free up.
 */
import { assert, describe, it } from "@effect/vitest"
import { Client, Store, Verk, Worker } from "@verk/core"
import * as Testing from "@verk/core/testing"
import { Clock, Effect, Schema } from "effect"
import { TestClock } from "effect/testing"

/** Each start: its queue, the critical queue's size then, and the (test) clock. */
const starts: Array<{ readonly queue: string; readonly criticalWaiting: number; readonly at: number }> = []

/** The test's store, for the jobs to look at (set by the test). */
let store: Store.StoreShape | undefined

const noteStart = (queue: string) =>
  Effect.gen(function* () {
    const criticalWaiting = store === undefined ? -1 : yield* Effect.orDie(store.queueSize("critical"))
    starts.push({ queue, criticalWaiting, at: yield* Clock.currentTimeMillis })
    yield* Effect.sleep("1 second")
  })

const Critical = Worker.make({
  name: "Critical",
  queue: "critical",
  args: Schema.Tuple([Schema.Int]),
  perform: () => noteStart("critical"),
})
const Default = Worker.make({
  name: "Default",
  queue: "default",
  args: Schema.Tuple([Schema.Int]),
  perform: () => noteStart("default"),
})

describe("real mode with a shared pool", () => {
  it.effect("a strict pool serving critical, default starts no default job while a critical job waits", () =>
    Effect.gen(function* () {
      const verk = yield* Verk.Verk
      store = yield* Store.Store
      // Two critical jobs take both slots for a second; meanwhile both queues fill, default first.
      yield* Client.enqueueMany(Critical, [[0], [0]])
      yield* TestClock.adjust("100 millis")
      assert.strictEqual(starts.length, 2)
      const args = [[1], [2], [3], [4], [5], [6]] as const
      yield* Client.enqueueMany(Default, args)
      yield* Client.enqueueMany(Critical, args)
      for (let second = 0; second < 8; second++) yield* TestClock.adjust("1 second")

      assert.deepStrictEqual(
        starts.map(({ queue }) => queue),
        [...Array(8).fill("critical"), ...Array(6).fill("default")],
      )
      for (const start of starts.filter(({ queue }) => queue === "default")) {
        assert.strictEqual(start.criticalWaiting, 0, `a default job started at ${start.at} while critical jobs waited`)
      }
      // Two slots: the jobs ran two by two, one second each.
      assert.strictEqual(new Set(starts.map(({ at }) => at)).size, 7)
      assert.deepStrictEqual(
        (yield* verk.poolStats).map(({ pool, queues, concurrency }) => ({ pool, queues, concurrency })),
        [{ pool: "urgent-first", queues: ["critical", "default"], concurrency: 2 }],
      )
    }).pipe(
      Effect.provide(
        Testing.layerReal([Critical, Default], {
          pools: [{ name: "urgent-first", queues: ["critical", "default"], concurrency: 2 }],
        }),
      ),
    ),
  )
})
