import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import * as Client from "../src/Client.ts"
import * as MemoryStore from "../src/MemoryStore.ts"
import { Store } from "../src/Store.ts"
import * as Worker from "../src/Worker.ts"

const Resize = Worker.make({
  name: "Resize",
  args: Schema.Tuple([Schema.String, Schema.Int.check(Schema.isGreaterThan(0))]),
  perform: ([url, width]) => Effect.log(`resize ${url} to ${width}`),
})

const TestLayer = Client.layer.pipe(Layer.provideMerge(MemoryStore.layer))

describe("Worker definitions", () => {
  it.effect("enqueue validates args against the worker's schema and writes nothing when they fail", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Client.enqueue(Resize, ["a.png", -3]))
      assert.strictEqual(error._tag, "InvalidJobArgs")
      assert.include(error.message, "Resize")
      assert.strictEqual(yield* Store.use((store) => store.queueSize("default")), 0)
    }).pipe(Effect.provide(TestLayer)),
  )

  it.effect("run decodes wire args and fails with InvalidJobArgs on args that do not match", () =>
    Effect.gen(function* () {
      yield* Resize.run(["a.png", 10])
      const error = yield* Effect.flip(Resize.run(["a.png", "wide"]))
      assert.strictEqual(error._tag, "InvalidJobArgs")
      assert.include(error.reason, "Expected")
    }),
  )

  it.effect("the registry resolves known classes and names an unknown one", () =>
    Effect.gen(function* () {
      const registry = yield* Worker.WorkerRegistry
      assert.strictEqual((yield* registry.resolve("Resize")).name, "Resize")
      const error = yield* Effect.flip(registry.resolve("Kernel.exec"))
      assert.strictEqual(error._tag, "UnknownJobClass")
      assert.strictEqual(error.className, "Kernel.exec")
    }).pipe(Effect.provide(Worker.layerRegistry([Resize]))),
  )

  it.effect("enqueueRaw takes Sidekiq-style input and rejects what is not a job", () =>
    Effect.gen(function* () {
      const job = yield* Client.enqueueRaw({ class: "Legacy", args: [1], queue: "old", custom: "kept" })
      assert.strictEqual(job.custom, "kept")
      assert.strictEqual(yield* Store.use((store) => store.queueSize("old")), 1)
      const error = yield* Effect.flip(Client.enqueueRaw({ class: "", args: [] }))
      assert.strictEqual(error._tag, "MalformedJob")
      // Args that JSON cannot hold are bad input too, and nothing is written.
      let deep: Array<unknown> = []
      for (let level = 0; level < 100_000; level++) deep = [deep]
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      for (const args of [[deep], [cyclic], [10n]]) {
        const unwritable = yield* Effect.flip(Client.enqueueRaw({ class: "Deep", args, queue: "deep" }))
        assert.strictEqual(unwritable._tag, "MalformedJob")
        assert.include(unwritable.message, "cannot be written as JSON")
      }
      assert.strictEqual(yield* Store.use((store) => store.queueSize("deep")), 0)
    }).pipe(Effect.provide(TestLayer)),
  )
})
