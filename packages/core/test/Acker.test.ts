/**
 * Batched acks (Acker.ts) on the in-memory store: the acks of one turn of the event loop share
 * one `store.ack`, a failed batch fails each of its acks, and a batch closes once its write starts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, type Fiber } from "effect"
import * as Acker from "../src/internal/Acker.ts"
import { inProgressCount, layer, node, Probe, queue, rawJob, settle } from "./jobPath.ts"

const Env = layer({})

/** Pushes `count` jobs and takes them into node n1's in-progress entries; returns their tokens. */
const inProgress = (count: number) =>
  Effect.gen(function* () {
    const probe = yield* Probe
    const raws = Array.from({ length: count }, (_, i) => rawJob("Ok", `a${i}`))
    yield* probe.memory.enqueue(queue, raws)
    const { jobs } = yield* probe.memory.fetch(queue, node, count)
    assert.strictEqual(jobs.length, count)
    return jobs.map(({ token }) => token)
  })

/** The ack's exit, once it has ended (one still waiting fails the test rather than hanging it). */
const ended = <A, E>(fiber: Fiber.Fiber<A, E>) => {
  const exit = fiber.pollUnsafe()
  assert.isDefined(exit, "the ack has returned")
  return exit!
}

describe("Acker", () => {
  it.effect("the acks of one turn share one store call, and each returns once it has landed", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      const ack = yield* Acker.make(probe.store, node)
      const tokens = yield* inProgress(5)
      yield* Effect.forEach(tokens, (token) => ack(queue, token), { concurrency: "unbounded", discard: true })
      assert.strictEqual(probe.calls("ack"), 1)
      assert.strictEqual(yield* inProgressCount, 0)
    }).pipe(Effect.provide(Env)),
  )

  it.effect("a failed batch fails every ack in it, and removes nothing", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      const ack = yield* Acker.make(probe.store, node)
      const tokens = yield* inProgress(3)
      probe.refuse("ack", 1)
      const results = yield* Effect.forEach(tokens, (token) => Effect.exit(ack(queue, token)), {
        concurrency: "unbounded",
      })
      assert.strictEqual(probe.calls("ack"), 1)
      assert.deepStrictEqual(
        results.map((exit) => (Exit.isFailure(exit) ? exit.cause.reasons.map((reason) => reason._tag) : "landed")),
        [["Fail"], ["Fail"], ["Fail"]],
      )
      for (const exit of results) {
        const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
        assert.strictEqual(error?._tag === "Fail" ? (error.error as { _tag: string })._tag : undefined, "StoreError")
      }
      assert.strictEqual(yield* inProgressCount, 3)
      // Each may ack again: the next batch lands.
      yield* Effect.forEach(tokens, (token) => ack(queue, token), { concurrency: "unbounded", discard: true })
      assert.strictEqual(probe.calls("ack"), 2)
      assert.strictEqual(yield* inProgressCount, 0)
    }).pipe(Effect.provide(Env)),
  )

  it.effect("an ack after a batch's write has started opens a new batch", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      const ack = yield* Acker.make(probe.store, node)
      const [first, second, third] = yield* inProgress(3)
      const release = yield* probe.hold("ack")
      const inFirst = yield* Effect.forkChild(ack(queue, first!))
      yield* settle
      assert.strictEqual(probe.calls("ack"), 1, "the first batch's write is sent, and held")
      const inSecond = yield* Effect.forkChild(ack(queue, second!))
      yield* settle
      assert.strictEqual(probe.calls("ack"), 2, "the second ack did not join the batch being written")
      assert.isUndefined(inFirst.pollUnsafe())
      assert.isUndefined(inSecond.pollUnsafe())
      assert.strictEqual(yield* inProgressCount, 3)
      yield* release
      yield* settle
      assert.isTrue(Exit.isSuccess(ended(inFirst)))
      assert.isTrue(Exit.isSuccess(ended(inSecond)))
      assert.strictEqual(yield* inProgressCount, 1)
      // And once those are done, a later ack is a batch of its own.
      yield* ack(queue, third!)
      assert.strictEqual(probe.calls("ack"), 3)
      assert.strictEqual(yield* inProgressCount, 0)
    }).pipe(Effect.provide(Env)),
  )

  it.effect("batches are per queue: acks of two queues in one turn make one store call each", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      const ack = yield* Acker.make(probe.store, node)
      const tokens = yield* inProgress(2)
      yield* probe.memory.enqueue("other", [rawJob("Ok", "o1")])
      const [other] = (yield* probe.memory.fetch("other", node, 1)).jobs
      yield* Effect.all([ack(queue, tokens[0]!), ack("other", other!.token), ack(queue, tokens[1]!)], {
        concurrency: "unbounded",
      })
      assert.strictEqual(probe.calls("ack"), 2)
      assert.strictEqual(yield* inProgressCount, 0)
      assert.deepStrictEqual(yield* probe.memory.inProgress("other", node), [])
    }).pipe(Effect.provide(Env)),
  )
})
