import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Isolation, suspectFrom } from "../src/internal/Isolation.ts"

describe("Isolation", () => {
  it("a job runs alone once it came back twice, or before a recovery could make it a poison pill", () => {
    // maxRecoveries → recoveries from which a job is a suspect
    const table = [0, 1, 2, 3, 25].map((max) => [max, suspectFrom(max)])
    assert.deepStrictEqual(table, [
      [0, 1],
      [1, 1],
      [2, 2],
      [3, 2],
      [25, 2],
    ])
  })

  it.effect("an idle node may take a suspect alone; a busy one fetches as usual", () =>
    Effect.gen(function* () {
      const isolation = yield* Isolation
      assert.strictEqual(yield* isolation.beginFetch("a"), "isolate")
      isolation.jobStartedUnsafe(false)
      yield* isolation.endFetch("a", { isolated: false, blocked: false })
      assert.strictEqual(yield* isolation.beginFetch("b"), "fetch")
      yield* isolation.endFetch("b", { isolated: false, blocked: false })
    }).pipe(Effect.provide(Isolation.layer)),
  )

  it.effect("a suspect at a queue's head stops every queue until the node is idle, then runs alone", () =>
    Effect.gen(function* () {
      const isolation = yield* Isolation
      yield* isolation.beginFetch("a")
      isolation.jobStartedUnsafe(false)
      yield* isolation.endFetch("a", { isolated: false, blocked: true })
      assert.strictEqual(yield* isolation.beginFetch("b"), "wait")
      assert.strictEqual(yield* isolation.beginFetch("a"), "wait", "not while a job still performs")
      isolation.jobEndedUnsafe(false)
      assert.strictEqual(yield* isolation.beginFetch("b"), "wait", "only the queue with the suspect")
      assert.strictEqual(yield* isolation.beginFetch("a"), "isolate")
      isolation.jobStartedUnsafe(true)
      yield* isolation.endFetch("a", { isolated: true, blocked: false })
      assert.strictEqual(yield* isolation.beginFetch("b"), "wait", "nothing beside a running suspect")
      isolation.jobEndedUnsafe(true)
      assert.strictEqual(yield* isolation.beginFetch("b"), "isolate")
    }).pipe(Effect.provide(Isolation.layer)),
  )

  it.effect("a paused or removed queue withdraws its suspect and frees the others", () =>
    Effect.gen(function* () {
      const isolation = yield* Isolation
      yield* isolation.beginFetch("a")
      yield* isolation.endFetch("a", { isolated: false, blocked: true })
      isolation.jobStartedUnsafe(false)
      assert.strictEqual(yield* isolation.beginFetch("b"), "wait")
      yield* isolation.withdraw("a")
      assert.strictEqual(yield* isolation.beginFetch("b"), "fetch")
    }).pipe(Effect.provide(Isolation.layer)),
  )
})
