/**
 * FAILING (left uncommitted on purpose: a bug report). JobRun.execute builds its steps eagerly,
 * outside its `Effect.catchCause`: `steps` calls `start` (registry.lookup) and `perform`
 * (worker.perform, which calls the user's `perform` function) while the effect is being built.
 * Anything they throw synchronously escapes `recover`: the Processor's fiber dies, no outcome is
 * written, the job stays in progress, and the pool's reconcile later requeues it (to die again).
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Layer, Schema } from "effect"
import * as Acker from "../src/internal/Acker.ts"
import { DeadLetter } from "../src/internal/DeadLetter.ts"
import { ProcessingFailedClass } from "../src/internal/Failure.ts"
import * as Lease from "../src/internal/Lease.ts"
import { Processor } from "../src/internal/Processor.ts"
import * as Worker from "../src/Worker.ts"
import { inProgressCount, layer, node, Probe, provideAtT0, queue, rawJob, setEntries } from "./jobPath.ts"

const runJob = Effect.fnUntraced(function* (raw: string) {
  const probe = yield* Probe
  const deadLetter = yield* DeadLetter
  yield* probe.memory.enqueue(queue, [raw])
  const [taken] = (yield* probe.memory.fetch(queue, node, 1)).jobs
  const writer = Lease.writer({
    queue,
    node,
    store: probe.store,
    deadLetter,
    ack: yield* Acker.make(probe.store, node),
  })
  const lease: Lease.Lease = {
    queue,
    token: taken!.token,
    raw,
    isolated: false,
    startedMillis: yield* Clock.currentTimeMillis,
    free: () => {},
    get ack() {
      return writer.ack(lease)
    },
    retry: (payload, atSeconds) => writer.retry(lease, payload, atSeconds),
    bury: (burial) => writer.bury(lease, burial),
  }
  return yield* (yield* Processor).process(lease)
})

/** A user's perform that throws before it returns an effect (a guard clause written as `throw`). */
const ThrowsAtCall = Worker.make({
  name: "ThrowsAtCall",
  args: Schema.Tuple([]),
  perform: (): Effect.Effect<void> => {
    throw new Error("thrown at call")
  },
})

/** A registry whose `lookup` (asked for every job) throws. */
const throwingRegistry = Layer.succeed(Worker.WorkerRegistry, {
  names: ["Ok"],
  resolve: () => Effect.die(new Error("registry broken (test)")),
  lookup: () => {
    throw new Error("registry broken (test)")
  },
})

describe("JobRun: synchronous throws outside the run's effects", () => {
  it.effect("a perform function that throws when called fails the job like any failure: it is retried", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* runJob(rawJob("ThrowsAtCall", "j-throws")), "retried")
      assert.strictEqual(yield* inProgressCount, 0)
      const [entry] = yield* setEntries("retry")
      assert.deepInclude(entry?.job, { jid: "j-throws", error_class: "Error", error_message: "thrown at call" })
    }).pipe(provideAtT0(layer({ workers: [ThrowsAtCall] }))),
  )

  it.effect("a registry that throws when asked for the worker: the job is buried as Verk::ProcessingFailed", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* runJob(rawJob("Ok", "j-registry")), "dead")
      assert.strictEqual(yield* inProgressCount, 0)
      const [entry] = yield* setEntries("dead")
      assert.deepInclude(entry?.job, { jid: "j-registry", error_class: ProcessingFailedClass })
    }).pipe(provideAtT0(layer({ registry: throwingRegistry }))),
  )
})
