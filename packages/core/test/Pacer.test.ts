/**
 * The pacing of snoozed jobs (Pacer.ts): they come back two limits' worth per period, one period
 * apart; a rate window the store said is full is known full until it frees; a concurrency
 * budget's period is how long its runs have held a slot lately.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Pacer from "../src/internal/Pacer.ts"

const at = (pacer: Pacer.Pacer, nowMillis: number, waitMillis: number, told = false) =>
  pacer.snoozed({ key: "api", nowMillis, waitMillis, limit: 2, periodMillis: 1_000, rate: true, told })

describe("Pacer", () => {
  it("gives a budget's snoozed jobs return slots one window apart, two limits' worth each", () => {
    const pacer = Pacer.make()
    const waits = [0, 10, 20, 30, 40, 50].map((now) => at(pacer, now, 300 - now))
    assert.deepStrictEqual(waits, [300, 290, 280, 270, 1260, 1250])
    // Known full until the window frees (300), then not known to be; other budgets never were.
    assert.strictEqual(pacer.fullFor("api", 100), 200)
    assert.strictEqual(pacer.fullFor("api", 300), undefined)
    assert.strictEqual(pacer.fullFor("other", 100), undefined)
  })

  it("lets a job the store turns away before the slots given so far try again when the store says", () => {
    const pacer = Pacer.make()
    for (const now of [0, 0, 0, 0, 0]) at(pacer, now, 300) // slots 300 (4 jobs) and 1300 (1 so far)
    // Back at 1100 from the first slot, the starts before it came late: the store says 50 ms.
    assert.strictEqual(at(pacer, 1_100, 50, true), 50)
    // It took no slot: the next job paced here still gets the second one.
    assert.strictEqual(at(pacer, 1_200, 100), 100)
    // Once every slot given is past, the store's wait counts from now again.
    assert.strictEqual(at(pacer, 5_000, 40, true), 40)
    assert.strictEqual(at(pacer, 5_000, 40), 40)
  })

  it("paces a concurrency budget's snoozed jobs without ever calling it full, and learns its typical hold", () => {
    const pacer = Pacer.make()
    assert.strictEqual(pacer.typicalHold("pdf"), undefined)
    pacer.held("pdf", 100)
    pacer.held("pdf", 200)
    assert.strictEqual(pacer.typicalHold("pdf"), 120)
    const snoozed = () =>
      pacer.snoozed({ key: "pdf", nowMillis: 0, waitMillis: 120, limit: 1, periodMillis: 120, rate: false, told: true })
    assert.deepStrictEqual([snoozed(), snoozed(), snoozed(), snoozed(), snoozed()], [120, 120, 240, 240, 360])
    assert.strictEqual(pacer.fullFor("pdf", 0), undefined)
  })
})
