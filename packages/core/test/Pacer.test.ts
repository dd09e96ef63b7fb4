/**
 * The pacing of snoozed jobs (Pacer.ts): jobs snoozed for one budget come back a limit's worth
 * per period, and a rate window the store said is full is known full until it frees up.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Pacer from "../src/internal/Pacer.ts"

describe("Pacer", () => {
  it("gives a rate budget's snoozed jobs one window each, a limit's worth at a time", () => {
    const pacer = Pacer.make()
    const snoozed = (nowMillis: number, waitMillis: number) =>
      pacer.snoozed({ key: "api", nowMillis, waitMillis, limit: 2, periodMillis: 1_000, rate: true, told: false })
    assert.deepStrictEqual(
      [snoozed(0, 300), snoozed(10, 290), snoozed(20, 280), snoozed(30, 270)],
      [300, 290, 1280, 1270],
    )
    // Known full until the window frees (300), then not known to be.
    assert.strictEqual(pacer.fullFor("api", 100), 200)
    assert.strictEqual(pacer.fullFor("api", 300), undefined)
    assert.strictEqual(pacer.fullFor("other", 100), undefined)
    // The next one takes the third window.
    assert.strictEqual(snoozed(40, 260), 2260)
    // A job back from its window that the store turns away (the starts before it came late)
    // tries again when the store says, without taking a window.
    const told = pacer.snoozed({
      key: "api",
      nowMillis: 1_100,
      waitMillis: 50,
      limit: 2,
      periodMillis: 1_000,
      rate: true,
      told: true,
    })
    assert.strictEqual(told, 50)
    // The third window (2300) had room for one more.
    assert.strictEqual(snoozed(1_200, 100), 1100)
  })

  it("gives a concurrency budget's snoozed jobs a slot per snooze, and never says it is full", () => {
    const pacer = Pacer.make()
    const snoozed = (nowMillis: number) =>
      pacer.snoozed({ key: "pdf", nowMillis, waitMillis: 100, limit: 2, periodMillis: 100, rate: false, told: true })
    assert.deepStrictEqual([snoozed(0), snoozed(0), snoozed(0), snoozed(0), snoozed(0)], [100, 100, 200, 200, 300])
    assert.strictEqual(pacer.fullFor("pdf", 0), undefined)
  })

  it("starts over once the store says a budget frees up later than the slots given so far", () => {
    const pacer = Pacer.make()
    const snoozed = (nowMillis: number, waitMillis: number) =>
      pacer.snoozed({ key: "k", nowMillis, waitMillis, limit: 1, periodMillis: 50, rate: false, told: true })
    assert.deepStrictEqual([snoozed(0, 50), snoozed(0, 50)], [50, 100])
    // At 500 every slot given is past: the store's wait counts from now again.
    assert.strictEqual(snoozed(500, 50), 50)
  })
})
