import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { WakeUp } from "../src/internal/WakeUp.ts"
import * as MemoryStore from "../src/MemoryStore.ts"
import * as Settings from "../src/Settings.ts"
import { Store } from "../src/Store.ts"

const Live = WakeUp.layer.pipe(Layer.provideMerge(MemoryStore.layer), Layer.provide(Settings.layer()))

/** Lets forked fibers run up to their next wait, and the notification stream deliver. */
const settle = Effect.gen(function* () {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

describe("WakeUp", () => {
  it.live("a push wakes the waiting loop", () =>
    Effect.gen(function* () {
      const wakeUp = yield* WakeUp
      const store = yield* Store
      const signal = yield* wakeUp.forQueue("q")
      let woken = false
      const waiting = yield* Effect.forkChild(
        signal.wait("10 seconds").pipe(Effect.andThen(Effect.sync(() => (woken = true)))),
      )
      yield* settle
      assert.isFalse(woken)
      yield* store.enqueue("q", ["{}"])
      yield* settle
      assert.isTrue(woken)
      yield* Fiber.join(waiting)
    }).pipe(Effect.provide(Live)),
  )

  it.live("a signal with no one waiting is kept for the next wait, once, and a clear drops it", () =>
    Effect.gen(function* () {
      const wakeUp = yield* WakeUp
      const store = yield* Store
      const signal = yield* wakeUp.forQueue("q")
      yield* settle // the notification stream subscribes
      yield* store.enqueue("q", ["{}"])
      yield* settle
      const began = Date.now()
      yield* signal.wait("10 seconds")
      assert.isBelow(Date.now() - began, 1_000, "the kept signal ends the wait at once")
      const second = Date.now()
      yield* signal.wait("50 millis")
      assert.isAtLeast(Date.now() - second, 45, "kept once: the next wait runs to its timeout")
      yield* store.enqueue("q", ["{}"])
      yield* settle
      yield* signal.clear
      const third = Date.now()
      yield* signal.wait("50 millis")
      assert.isAtLeast(Date.now() - third, 45, "cleared: the wait runs to its timeout")
    }).pipe(Effect.provide(Live)),
  )

  it.live("an interrupted wait leaves nothing behind: the next signal is kept for the next wait", () =>
    Effect.gen(function* () {
      const wakeUp = yield* WakeUp
      const store = yield* Store
      const signal = yield* wakeUp.forQueue("q")
      const waiting = yield* Effect.forkChild(signal.wait("10 seconds"))
      yield* settle
      yield* Fiber.interrupt(waiting)
      yield* store.enqueue("q", ["{}"])
      yield* settle
      const began = Date.now()
      yield* signal.wait("10 seconds")
      assert.isBelow(Date.now() - began, 1_000)
    }).pipe(Effect.provide(Live)),
  )

  it.effect("under TestClock a wait ends when the clock reaches its timeout", () =>
    Effect.gen(function* () {
      const wakeUp = yield* WakeUp
      const signal = yield* wakeUp.forQueue("q")
      const waiting = yield* Effect.forkChild(signal.wait("1 minute"))
      yield* settle
      yield* TestClock.adjust("59 seconds")
      assert.isUndefined(waiting.pollUnsafe())
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(waiting)
    }).pipe(Effect.provide(Live)),
  )
})
