import { getHeapSpaceStatistics } from "node:v8"
import { runInNewContext } from "node:vm"
import { expect, it } from "vitest"
import { releaseStartupMemory } from "../src/StartupMemory.ts"

const newSpaceMiB = () =>
  (getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.space_size ?? 0) / 2 ** 20

it("shrinks the young generation a start-up grew, and leaves no `gc` behind", () => {
  const hadGc = "gc" in globalThis
  // Short-lived garbage with some survivors, as loading modules leaves: V8 grows the young generation.
  let kept: Array<{ readonly n: number; readonly text: string }> = []
  for (let i = 0; i < 2_000_000; i++) {
    const item = { n: i, text: `item ${i}` }
    if (i % 8 === 0) kept.push(item)
    if (kept.length > 50_000) kept = []
  }
  expect(kept.length).toBeGreaterThan(0)
  kept = []
  const before = newSpaceMiB()
  releaseStartupMemory()
  const after = newSpaceMiB()
  expect(after, `new space ${before} MiB -> ${after} MiB`).toBeLessThan(before)
  expect(after).toBeLessThanOrEqual(2)
  expect("gc" in globalThis).toBe(hadGc)
  expect(runInNewContext("typeof gc")).toBe("undefined")
})
