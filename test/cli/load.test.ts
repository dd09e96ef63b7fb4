/** What `verk run` takes from a module: its workers (default and named exports) and its `layer`. */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { load } from "../../packages/node/src/cli/run.ts"
import { fixture } from "./support.ts"

describe("verk run: load", () => {
  it.effect("the default export (an array) and the named workers, each once", () =>
    Effect.gen(function* () {
      const { workers, layer } = yield* load(fixture("defaultExport.ts"))
      assert.deepStrictEqual(workers.map((worker) => worker.name).sort(), ["Ping", "Pong"])
      assert.isUndefined(layer)
    }),
  )

  it.effect("named workers and the `layer` export", () =>
    Effect.gen(function* () {
      const { workers, layer } = yield* load("test/examples/workers.ts")
      assert.deepStrictEqual(
        workers.map((worker) => worker.name),
        ["CreditAccount"],
      )
      assert.isTrue(Layer.isLayer(layer))
    }),
  )

  it.effect("typed errors: ModuleNotFound, NoWorkersExported, InvalidLayerExport, ModuleThrew", () =>
    Effect.gen(function* () {
      const tags = yield* Effect.forEach(["missing.ts", "noWorkers.ts", "badLayer.ts", "throws.ts"], (name) =>
        Effect.flip(load(fixture(name))),
      )
      assert.deepStrictEqual(
        tags.map((error) => error._tag),
        ["ModuleNotFound", "NoWorkersExported", "InvalidLayerExport", "ModuleThrew"],
      )
    }),
  )
})
