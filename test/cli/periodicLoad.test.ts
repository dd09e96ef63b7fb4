/** What `verk run` takes from a module for periodic jobs: its `periodic` export, or its Verk.module's. */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { load } from "../../packages/node/src/cli/run.ts"
import { fixture } from "./support.ts"

describe("verk run: load, periodic entries", () => {
  it.effect("the `periodic` export of a module of named exports", () =>
    Effect.gen(function* () {
      const { periodic } = yield* load(fixture("periodicWorkers.ts"))
      assert.deepStrictEqual(
        periodic.map((entry) => [entry.name, entry.expression, entry.queue]),
        [
          ["tick", "* * * * * *", "ticks"],
          ["fence", "* * * * * *", "fence"],
          ["held", "* * * * * *", "held"],
        ],
      )
    }),
  )

  it.effect("a Verk.module's entries; none from a module that has none", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(
        (yield* load("test/examples/periodic.ts")).periodic.map((entry) => entry.name),
        ["daily-digest", "pulse"],
      )
      assert.deepStrictEqual((yield* load("test/examples/workers.ts")).periodic, [])
      assert.deepStrictEqual((yield* load(fixture("defaultExport.ts"))).periodic, [])
    }),
  )

  it.effect("a `periodic` export that is not entries made by Periodic.make: InvalidPeriodicExport", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(load(fixture("badPeriodic.ts")))
      assert.strictEqual(error._tag, "InvalidPeriodicExport")
      assert.include(error.message, "it must be an array of entries made by Periodic.make")
    }),
  )
})
