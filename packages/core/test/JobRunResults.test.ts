/**
 * What a run keeps as its job's result (internal/ResultWrite.ts, through the Processor), on the
 * in-memory store under TestClock, counting store calls: a worker with no `success` schema makes
 * no call more than before; one with a schema writes its record before the outcome, again until
 * it lands.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Exit, type Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as Acker from "../src/internal/Acker.ts"
import { DeadLetter } from "../src/internal/DeadLetter.ts"
import * as Lease from "../src/internal/Lease.ts"
import { Processor } from "../src/internal/Processor.ts"
import { InvalidResultClass } from "../src/internal/ResultWrite.ts"
import * as Worker from "../src/Worker.ts"
import { inProgressCount, layer, node, Probe, provideAtT0, queue, rawJob, settle } from "./jobPath.ts"

class Boom extends Schema.TaggedError<Boom>()("Boom", { message: Schema.String }) {}

const NoArgs = Schema.Tuple([])
const Plain = Worker.make({ name: "Plain", args: NoArgs, perform: () => Effect.succeed(42) })
const PlainDies = Worker.make({
  name: "PlainDies",
  args: NoArgs,
  retry: false,
  perform: () => Effect.fail(new Boom({ message: "no" })),
})
const Kept = Worker.make({ name: "Kept", args: NoArgs, success: Schema.Int, perform: () => Effect.succeed(42) })
const KeptDies = Worker.make({
  name: "KeptDies",
  args: NoArgs,
  retry: false,
  success: Schema.Int,
  error: Boom,
  perform: () => Effect.fail(new Boom({ message: "it broke" })),
})
const KeptBadValue = Worker.make({
  name: "KeptBadValue",
  args: NoArgs,
  success: Schema.Int,
  perform: () => Effect.succeed(1.5),
})

const Env = layer({ workers: [Plain, PlainDies, Kept, KeptDies, KeptBadValue] })

/** Takes `raw` with a real fetch and runs it under a lease with the queue's own writes, forked. */
const forkJob = Effect.fnUntraced(function* (raw: string) {
  const probe = yield* Probe
  yield* probe.memory.enqueue(queue, [raw])
  const [taken] = (yield* probe.memory.fetch(queue, node, 1)).jobs
  const writer = Lease.writer({
    queue,
    node,
    store: probe.store,
    deadLetter: yield* DeadLetter,
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
  const fiber = yield* Effect.forkChild((yield* Processor).process(lease))
  yield* settle
  return fiber
})

const outcomeOf = <A>(fiber: Fiber.Fiber<A>): A => {
  const exit = fiber.pollUnsafe()
  assert.isTrue(exit !== undefined && Exit.isSuccess(exit), "the run has ended")
  return (exit as Exit.Success<A>).value
}

const recordOf = (jid: string) =>
  Effect.map(
    Effect.flatMap(Probe, (probe) => probe.memory.readResult(jid)),
    (record) => (record === undefined ? undefined : JSON.parse(record)),
  )

describe("JobRun: results", () => {
  it.effect("a worker with no success schema makes no result call, succeeding or dying", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      assert.strictEqual(outcomeOf(yield* forkJob(rawJob("Plain", "j-plain"))), "finished")
      assert.strictEqual(outcomeOf(yield* forkJob(rawJob("PlainDies", "j-plain-dies"))), "dead")
      assert.strictEqual(probe.calls("writeResult"), 0)
      assert.deepStrictEqual([probe.calls("ack"), probe.calls("kill")], [1, 1])
      assert.isUndefined(yield* recordOf("j-plain"))
    }).pipe(provideAtT0(Env)),
  )

  it.effect("a success keeps its encoded value, one write before the ack", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      assert.strictEqual(outcomeOf(yield* forkJob(rawJob("Kept", "j-kept"))), "finished")
      assert.deepStrictEqual([probe.calls("writeResult"), probe.calls("ack")], [1, 1])
      assert.deepStrictEqual(yield* recordOf("j-kept"), { status: "succeeded", value: 42 })
      // Kept one day by default.
      yield* TestClock.adjust("23 hours")
      assert.isDefined(yield* recordOf("j-kept"))
      yield* TestClock.adjust("1 hour")
      assert.isUndefined(yield* recordOf("j-kept"))
    }).pipe(provideAtT0(Env)),
  )

  it.effect("a death keeps its class, message and typed error, encoded", () =>
    Effect.gen(function* () {
      assert.strictEqual(outcomeOf(yield* forkJob(rawJob("KeptDies", "j-dies"))), "dead")
      assert.deepStrictEqual(yield* recordOf("j-dies"), {
        status: "died",
        errorClass: "Boom",
        message: "it broke",
        error: { _tag: "Boom", message: "it broke" },
      })
    }).pipe(provideAtT0(Env)),
  )

  it.effect("a value the schema refuses is kept as a death of its own; the job is acked, not retried", () =>
    Effect.gen(function* () {
      assert.strictEqual(outcomeOf(yield* forkJob(rawJob("KeptBadValue", "j-bad"))), "finished")
      const record = yield* recordOf("j-bad")
      assert.strictEqual(record.status, "died")
      assert.strictEqual(record.errorClass, InvalidResultClass)
    }).pipe(provideAtT0(Env)),
  )

  it.effect("a refused result write is written again until it lands; the job stays in progress meanwhile", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      probe.refuse("writeResult", 2)
      const fiber = yield* forkJob(rawJob("Kept", "j-refused"))
      assert.strictEqual(probe.calls("writeResult"), 1)
      assert.strictEqual(probe.calls("ack"), 0, "no ack before the result lands")
      assert.strictEqual(yield* inProgressCount, 1)
      for (let i = 0; i < 3; i++) {
        yield* TestClock.adjust("50 millis")
        yield* settle
      }
      assert.strictEqual(outcomeOf(fiber), "finished")
      assert.deepStrictEqual([probe.calls("writeResult"), probe.calls("ack")], [3, 1])
      assert.deepStrictEqual(yield* recordOf("j-refused"), { status: "succeeded", value: 42 })
      assert.strictEqual(yield* inProgressCount, 0)
    }).pipe(provideAtT0(Env)),
  )
})
