/**
 * A queue's fetch loop (Fetcher.ts) on the in-memory store under TestClock. That the loop did not
 * fetch is proven by the store's count of fetches, read after something that would have made it
 * fetch (the clock moved through several polls, a push, a freed slot) and before something that
 * does; never by waiting.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, type Duration, Effect, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as Acker from "../src/internal/Acker.ts"
import { DeadLetter } from "../src/internal/DeadLetter.ts"
import * as Fetcher from "../src/internal/Fetcher.ts"
import * as Lease from "../src/internal/Lease.ts"
import * as Pool from "../src/internal/Pool.ts"
import { Processor } from "../src/internal/Processor.ts"
import * as Worker from "../src/Worker.ts"
import {
  inProgressCount,
  layer,
  makeGates,
  node,
  Probe,
  provideAtT0,
  queue,
  queuedJids,
  Recorder,
  rawJob,
  recordLogs,
  settle,
} from "./jobPath.ts"

/** Gates by key: a job that waits on one performs until the test opens it. */
const { gate, open } = makeGates()

/** Performs until its gate (by jid) opens. */
const Waits = Worker.make({
  name: "Waits",
  args: Schema.Tuple([Schema.String]),
  perform: ([key]) => Deferred.await(gate(key)),
})
const Ok = Worker.make({ name: "Ok", args: Schema.Tuple([]), perform: () => Effect.void })
const waits = (key: string) => rawJob("Waits", key, { args: [key] })

/** Poll interval 1 s (the default): an idle queue fetches again after 10 s without a signal. */
const Env = layer({ workers: [Waits, Ok], settings: { pollInterval: "1 second" } })

/** The queue's pool (with the node's Processor and the queue's writes) and its fetch loop, running. */
const startQueue = Effect.fnUntraced(function* (concurrency: number) {
  const probe = yield* Probe
  const writer = Lease.writer({
    queue,
    node,
    store: probe.store,
    deadLetter: yield* DeadLetter,
    ack: yield* Acker.make(probe.store, node),
  })
  const pool = yield* Pool.make({
    name: queue,
    concurrency,
    queues: [{ queue, writer }],
    process: (yield* Processor).process,
  })
  yield* Effect.forkScoped(Fetcher.run(pool, undefined))
  yield* settle
  return pool
})

/** Moves the clock `steps` times by `step`, letting the loops run each time. */
const advance = (step: Duration.Input, steps: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < steps; i++) {
      yield* TestClock.adjust(step)
      yield* settle
    }
  })

/** The jids of the jobs that finished, in order. */
const finishedJids = Effect.gen(function* () {
  return (yield* Recorder).events.flatMap((event) => (event._tag === "JobFinished" ? [event.jid] : []))
})

describe("Fetcher", () => {
  it.effect("an empty queue waits for a signal: no fetch for nine polls, one after ten (the idle bound)", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      yield* startQueue(2)
      assert.strictEqual(probe.calls("fetch"), 1, "the first look finds nothing")
      const polls = probe.calls("queueSize")
      yield* advance("1 second", 9)
      assert.isAtLeast(probe.calls("queueSize") - polls, 9, "the queue poll ran every second meanwhile")
      assert.strictEqual(probe.calls("fetch"), 1, "and the loop did not fetch")
      yield* advance("1 second", 1)
      assert.strictEqual(probe.calls("fetch"), 2, "ten polls bound an idle wait")
    }).pipe(provideAtT0(Env)),
  )

  it.effect("a push wakes an idle queue at once: the job runs with no time passing", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      yield* startQueue(2)
      assert.strictEqual(probe.calls("fetch"), 1)
      yield* probe.memory.enqueue(queue, [rawJob("Ok", "pushed")])
      yield* settle
      assert.strictEqual(probe.calls("fetch"), 2)
      assert.deepStrictEqual(yield* finishedJids, ["pushed"])
      assert.strictEqual(yield* inProgressCount, 0)
    }).pipe(provideAtT0(Env)),
  )

  it.effect("a full pool fetches nothing, whatever the polls say, until a slot is freed; then at once", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      yield* probe.memory.enqueue(queue, [waits("first"), rawJob("Ok", "second")])
      yield* startQueue(1)
      assert.strictEqual(probe.calls("fetch"), 1)
      assert.deepStrictEqual(yield* queuedJids, ["second"])
      // The queue poll sees "second" waiting and signals the loop every second.
      const polls = probe.calls("queueSize")
      yield* advance("1 second", 12)
      assert.isAtLeast(probe.calls("queueSize") - polls, 12)
      assert.strictEqual(probe.calls("fetch"), 1, "a full pool has nothing to fetch for")
      assert.deepStrictEqual(yield* queuedJids, ["second"])
      yield* open("first")
      yield* settle
      // One fetch for "second", which filled the pool (so more may wait), and one that finds none.
      assert.strictEqual(probe.calls("fetch"), 3)
      assert.deepStrictEqual(yield* finishedJids, ["first", "second"])
      assert.deepStrictEqual(yield* queuedJids, [])
    }).pipe(provideAtT0(Env)),
  )

  it.effect("a failed fetch backs off for a second, then puts back what the pool does not run, and fetches", () => {
    const logs: Array<{ readonly level: string; readonly message: string }> = []
    return Effect.gen(function* () {
      const probe = yield* Probe
      // A job taken by an earlier fetch of this node whose reply never arrived.
      yield* probe.memory.enqueue(queue, [rawJob("Ok", "orphan")])
      assert.strictEqual((yield* probe.memory.fetch(queue, node, 1)).jobs.length, 1)
      probe.refuse("fetch", 1)
      yield* startQueue(2)
      assert.strictEqual(probe.calls("fetch"), 1, "refused")
      assert.strictEqual(probe.calls("requeueOrphans"), 0)
      yield* advance("999 millis", 1)
      assert.strictEqual(probe.calls("fetch"), 1, "no fetch during the back-off")
      assert.strictEqual(probe.calls("requeueOrphans"), 0)
      yield* advance("1 millis", 1)
      assert.strictEqual(probe.calls("requeueOrphans"), 1, "reconciled first")
      assert.strictEqual(probe.calls("fetch"), 2)
      assert.deepStrictEqual(yield* finishedJids, ["orphan"], "the orphan was put back, fetched and run")
      assert.strictEqual(yield* inProgressCount, 0)
      const warnings = logs.filter(({ level }) => level === "Warn").map(({ message }) => message)
      assert.deepStrictEqual(warnings, [
        "Fetch from default failed, the store seems away; retrying quietly until it is back: Store operation fetch failed: fetch refused (test)",
        "Put back 1 jobs of default taken by a fetch whose reply was lost",
      ])
    }).pipe(provideAtT0(Env), recordLogs(logs))
  })

  it.effect("pause stops fetching once the running jobs have finished; resume starts again", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      const recorder = yield* Recorder
      yield* probe.memory.enqueue(queue, [waits("running")])
      yield* startQueue(2)
      yield* probe.memory.setPaused(queue, true)
      yield* settle
      yield* probe.memory.enqueue(queue, [rawJob("Ok", "held back")])
      yield* settle
      yield* open("running")
      yield* settle
      // Paused, and the job pushed meanwhile still waits: nothing was fetched after the pause.
      assert.strictEqual(probe.calls("fetch"), 1)
      assert.deepStrictEqual(yield* queuedJids, ["held back"])
      yield* advance("1 second", 12)
      assert.strictEqual(probe.calls("fetch"), 1, "nor while it stays paused")
      yield* probe.memory.setPaused(queue, false)
      yield* settle
      assert.deepStrictEqual(
        recorder.events.map(
          (event) => `${event._tag} ${"jid" in event ? event.jid : "queue" in event ? event.queue : ""}`,
        ),
        [
          "JobStarted running",
          "QueuePausing default",
          "JobFinished running",
          "QueuePaused default",
          "QueueRunning default",
          "JobStarted held back",
          "JobFinished held back",
        ],
      )
      assert.deepStrictEqual(yield* queuedJids, [])
    }).pipe(provideAtT0(Env)),
  )
})

/** A strict pool serving `urgent`, then the test's queue, and its fetch loop, running. */
const startSharedPool = Effect.fnUntraced(function* (concurrency: number) {
  const probe = yield* Probe
  const deadLetter = yield* DeadLetter
  const ack = yield* Acker.make(probe.store, node)
  const pool = yield* Pool.make({
    name: `urgent>${queue}`,
    concurrency,
    queues: ["urgent", queue].map((name) => ({
      queue: name,
      writer: Lease.writer({ queue: name, node, store: probe.store, deadLetter, ack }),
    })),
    process: (yield* Processor).process,
  })
  yield* Effect.forkScoped(Fetcher.run(pool, undefined))
  yield* settle
  return pool
})

describe("Fetcher with a shared pool", () => {
  it.effect("a round asks the queues in order: the first comes up short, the next fills the slots left", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      yield* probe.memory.enqueue("urgent", [waits("u1")])
      yield* probe.memory.enqueue(queue, [waits("d1"), waits("d2"), waits("d3"), waits("d4")])
      const pool = yield* startSharedPool(3)
      assert.strictEqual(probe.calls("fetch"), 2, "one fetch per queue asked")
      assert.deepStrictEqual(
        (yield* pool.running).map(({ queue, raw }) => [queue, JSON.parse(raw).jid]),
        [
          ["urgent", "u1"],
          [queue, "d1"],
          [queue, "d2"],
        ],
      )
      assert.deepStrictEqual(yield* queuedJids, ["d4", "d3"])
      // A slot frees, and an urgent job waits: it goes first.
      yield* probe.memory.enqueue("urgent", [waits("u2")])
      yield* open("d1")
      yield* settle
      assert.sameMembers(
        (yield* pool.running).map(({ raw }) => JSON.parse(raw).jid),
        ["u1", "d2", "u2"],
      )
      assert.deepStrictEqual(yield* queuedJids, ["d4", "d3"], "the default jobs still wait")
    }).pipe(provideAtT0(Env)),
  )

  it.effect("an idle shared pool wakes at once on a push to any of its queues", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      yield* startSharedPool(2)
      const fetches = probe.calls("fetch")
      yield* probe.memory.enqueue(queue, [rawJob("Ok", "late")])
      yield* settle
      assert.deepStrictEqual(yield* finishedJids, ["late"])
      assert.isAbove(probe.calls("fetch"), fetches)
    }).pipe(provideAtT0(Env)),
  )
})

describe("Fetcher.weightedOrder", () => {
  const feeds = [
    { name: "a", weight: 3 },
    { name: "b", weight: 1 },
    { name: "c", weight: 2 },
  ]
  const names = (draws: ReadonlyArray<number>) => {
    let next = 0
    return Fetcher.weightedOrder(feeds, () => draws[next++] ?? 0).map(({ name }) => name)
  }

  it("each next queue is drawn from those left, by its share of their weights", () => {
    // Of 6: [0, 3) is a, [3, 4) b, [4, 6) c; then among the rest by their own total.
    assert.deepStrictEqual(names([0.49, 0]), ["a", "b", "c"])
    assert.deepStrictEqual(names([0.49, 0.34]), ["a", "c", "b"])
    assert.deepStrictEqual(names([0.5, 0.99]), ["b", "c", "a"])
    assert.deepStrictEqual(names([0.67, 0]), ["c", "a", "b"])
    assert.deepStrictEqual(names([0.99, 0.75]), ["c", "b", "a"])
  })

  it("first places follow the weights over many draws", () => {
    const first = { a: 0, b: 0, c: 0 }
    for (let i = 0; i < 60_000; i++) {
      const [head] = Fetcher.weightedOrder(feeds, Math.random)
      first[head!.name as keyof typeof first]++
    }
    assert.approximately(first.a / 60_000, 0.5, 0.02)
    assert.approximately(first.b / 60_000, 1 / 6, 0.02)
    assert.approximately(first.c / 60_000, 1 / 3, 0.02)
  })
})
