import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Isolation } from "../src/internal/Isolation.ts"

describe("Isolation", () => {
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
