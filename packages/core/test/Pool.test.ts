/**
 * A queue's pool (Pool.ts) on the in-memory store under TestClock: its slots and reservations,
 * the leases of the jobs it runs, `slotFreed`, `reconcile`, its outcome counts and its phases.
 * Jobs are fetched by hand (as the fetch loop would) and run by the real Processor, with the
 * queue's own writes over the Probe's store.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, FiberSet, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as Acker from "../src/internal/Acker.ts"
import { DeadLetter } from "../src/internal/DeadLetter.ts"
import * as Lease from "../src/internal/Lease.ts"
import * as Pool from "../src/internal/Pool.ts"
import { Processor } from "../src/internal/Processor.ts"
import * as ReadAhead from "../src/internal/ReadAhead.ts"
import * as Worker from "../src/Worker.ts"
import {
  eventsTagged,
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
  settle,
  T0,
} from "./jobPath.ts"

/** Gates by key: a job that waits on one performs until the test opens it. */
const { gate, open } = makeGates()
/** What happened, in order, across fibers: the fence of the tests that prove an order. */
const log: Array<string> = []

const Waits = Worker.make({
  name: "Waits",
  args: Schema.Tuple([Schema.String]),
  perform: ([key]) =>
    Effect.andThen(
      Deferred.await(gate(key)),
      Effect.sync(() => log.push(`${key} performed`)),
    ),
})
const Ok = Worker.make({ name: "Ok", args: Schema.Tuple([]), perform: () => Effect.void })
const Fails = Worker.make({ name: "Fails", args: Schema.Tuple([]), perform: () => Effect.fail("no") })

const Env = layer({ workers: [Waits, Ok, Fails] })

const waits = (key: string) => rawJob("Waits", key, { args: [key] })

/**
 * The queue's pool (or a pool of `queues`), running jobs with the node's Processor and writing
 * through each queue's writer.
 */
const makePool = Effect.fnUntraced(function* (concurrency: number, queues: ReadonlyArray<string> = [queue]) {
  const probe = yield* Probe
  const deadLetter = yield* DeadLetter
  const ack = yield* Acker.make(probe.store, node)
  return yield* Pool.make({
    name: queues.join(","),
    concurrency,
    queues: queues.map((name) => ({
      queue: name,
      writer: Lease.writer({ queue: name, node, store: probe.store, deadLetter, ack }),
    })),
    process: (yield* Processor).process,
  })
})

/** Pushes `raws`, then fetches and starts them as the fetch loop does: reserve, fetch, start. */
const fetchAndStart = Effect.fnUntraced(function* (pool: Pool.Pool, raws: ReadonlyArray<string>) {
  const probe = yield* Probe
  yield* probe.memory.enqueue(queue, raws)
  const started = yield* Effect.scoped(
    Effect.gen(function* () {
      const reservation = yield* pool.reserve
      const { jobs } = yield* probe.memory.fetch(queue, node, reservation.count)
      yield* pool.start(reservation, pool.lanes[0]!, jobs, false)
      return jobs.length
    }),
  )
  yield* settle
  return started
})

/** What a fetch may take now, and how many of those slots are free (given back at once). */
const reservationNow = (pool: Pool.Pool) =>
  Effect.scoped(Effect.map(pool.reserve, ({ count, slots }) => ({ count, slots })))

/** The jids of the jobs running now, sorted. */
const runningJids = (pool: Pool.Pool) =>
  Effect.map(pool.running, (running) => running.map(({ raw }) => JSON.parse(raw).jid as string).sort())

/** How many slots a reservation gets now (given back at once). */
const freeSlots = (pool: Pool.Pool) => Effect.scoped(Effect.map(pool.reserve, ({ slots }) => slots))

describe("Pool", () => {
  it.effect("reserve takes every free slot, and its scope gives back those no job took", () =>
    Effect.gen(function* () {
      const pool = yield* makePool(3)
      const probe = yield* Probe
      yield* probe.memory.enqueue(queue, [waits("r1")])
      yield* Effect.scoped(
        Effect.gen(function* () {
          const reservation = yield* pool.reserve
          assert.strictEqual(reservation.count, 3)
          assert.strictEqual(yield* freeSlots(pool), 0, "all taken by the open reservation")
          const { jobs } = yield* probe.memory.fetch(queue, node, reservation.count)
          assert.strictEqual(jobs.length, 1)
          yield* pool.start(reservation, pool.lanes[0]!, jobs, false)
        }),
      )
      assert.strictEqual(yield* freeSlots(pool), 2, "the two slots no job took are back")
      yield* open("r1")
      yield* settle
      assert.strictEqual(yield* freeSlots(pool), 3)
    }).pipe(provideAtT0(Env)),
  )

  it.effect("start leases each fetched job and runs it; the lease goes when its outcome is written", () =>
    Effect.gen(function* () {
      const pool = yield* makePool(2)
      assert.strictEqual(yield* fetchAndStart(pool, [waits("s1"), waits("s2")]), 2)
      assert.deepStrictEqual(
        (yield* pool.running).map(({ queue, raw, startedMillis }) => [queue, JSON.parse(raw).jid, startedMillis]),
        [
          [queue, "s1", T0],
          [queue, "s2", T0],
        ],
      )
      assert.strictEqual(yield* FiberSet.size(pool.fibers), 2)
      assert.deepStrictEqual(
        (yield* eventsTagged("JobStarted")).map((event) => event.jid),
        ["s1", "s2"],
      )
      yield* open("s1")
      yield* open("s2")
      yield* settle
      assert.deepStrictEqual(yield* pool.running, [])
      assert.strictEqual(yield* FiberSet.size(pool.fibers), 0)
      assert.strictEqual(yield* inProgressCount, 0)
      assert.deepStrictEqual(pool.lanes[0]!.outcomes, { finished: 2, failed: 0 })
    }).pipe(provideAtT0(Env)),
  )

  it.effect("a job's slot is free once perform ends, while its outcome write is still in flight", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      const pool = yield* makePool(1)
      const releaseAcks = yield* probe.hold("ack")
      yield* fetchAndStart(pool, [rawJob("Ok", "f1")])
      assert.strictEqual(probe.calls("ack"), 1, "the ack is sent, and held")
      assert.strictEqual(yield* inProgressCount, 1, "the ack has not landed")
      assert.strictEqual((yield* pool.running).length, 1, "the lease lasts until the outcome is written")
      assert.strictEqual(yield* freeSlots(pool), 1, "the slot is free already")
      const waited = yield* Effect.forkChild(pool.slotFreed)
      yield* settle
      assert.isDefined(waited.pollUnsafe(), "slotFreed does not wait with a slot free")
      assert.deepStrictEqual(yield* eventsTagged("JobFinished"), [])
      yield* releaseAcks
      yield* settle
      assert.strictEqual(yield* inProgressCount, 0)
      assert.deepStrictEqual(yield* pool.running, [])
      assert.deepStrictEqual(
        (yield* eventsTagged("JobFinished")).map((event) => event.jid),
        ["f1"],
      )
    }).pipe(provideAtT0(Env)),
  )

  it.effect("slotFreed returns at once with a slot free, and waits for a job's end when the pool is full", () =>
    Effect.gen(function* () {
      const pool = yield* makePool(1)
      yield* pool.slotFreed
      log.length = 0
      yield* fetchAndStart(pool, [waits("full1")])
      assert.strictEqual(yield* freeSlots(pool), 0)
      const waiting = yield* Effect.forkChild(
        Effect.andThen(
          pool.slotFreed,
          Effect.sync(() => log.push("slot freed")),
        ),
      )
      yield* settle
      yield* open("full1")
      yield* Fiber.join(waiting)
      // Had slotFreed not waited, it would have returned before the job could end.
      assert.deepStrictEqual(log, ["full1 performed", "slot freed"])
    }).pipe(provideAtT0(Env)),
  )

  it.effect("reconcile puts back the in-progress jobs it holds no lease for, never one it holds", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      const pool = yield* makePool(3)
      const duplicate = waits("dup")
      yield* probe.memory.enqueue(queue, [waits("held"), rawJob("Ok", "lost1"), duplicate, duplicate])
      // One fetch took four jobs, but only the first and one copy of the duplicate reached the pool
      // (as if the reply of a fetch had been lost for the others).
      const { jobs } = yield* probe.memory.fetch(queue, node, 4)
      yield* probe.memory.enqueue(queue, [rawJob("Ok", "later")])
      yield* Effect.scoped(
        Effect.flatMap(pool.reserve, (reservation) =>
          pool.start(reservation, pool.lanes[0]!, [jobs[0]!, jobs[2]!], false),
        ),
      )
      yield* settle
      assert.strictEqual(yield* inProgressCount, 4)
      assert.strictEqual(yield* pool.reconcile(pool.lanes[0]!), 2)
      const [last, ...next] = yield* queuedJids
      assert.strictEqual(last, "later", "put back at the front: they run before a job pushed since")
      assert.sameMembers(next, ["dup", "lost1"], "one copy of the duplicate, and the other")
      assert.strictEqual(yield* inProgressCount, 2)
      assert.strictEqual(yield* pool.reconcile(pool.lanes[0]!), 0, "the leased jobs stay")
      assert.strictEqual(yield* inProgressCount, 2)
      yield* open("held")
      yield* open("dup")
      yield* settle
      assert.strictEqual(yield* inProgressCount, 0, "their outcomes were written")
    }).pipe(provideAtT0(Env)),
  )

  it.effect("reconcile leaves a job whose slot is free but whose outcome write is in flight", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      const pool = yield* makePool(1)
      const releaseAcks = yield* probe.hold("ack")
      yield* fetchAndStart(pool, [rawJob("Ok", "writing")])
      assert.strictEqual(yield* freeSlots(pool), 1)
      assert.strictEqual(yield* pool.reconcile(pool.lanes[0]!), 0)
      assert.deepStrictEqual(yield* queuedJids, [])
      yield* releaseAcks
      yield* settle
      assert.strictEqual(yield* inProgressCount, 0)
      assert.deepStrictEqual(pool.lanes[0]!.outcomes, { finished: 1, failed: 0 })
    }).pipe(provideAtT0(Env)),
  )

  it.effect("outcomes count finished and failed (retried or dead) runs, not interrupted ones", () =>
    Effect.gen(function* () {
      const pool = yield* makePool(5)
      yield* fetchAndStart(pool, [
        rawJob("Ok", "o1"),
        rawJob("Ok", "o2"),
        rawJob("Fails", "o3"),
        rawJob("Fails", "o4", { retry: false }),
        waits("o5"),
      ])
      assert.deepStrictEqual(pool.lanes[0]!.outcomes, { finished: 2, failed: 2 })
      assert.strictEqual(yield* FiberSet.size(pool.fibers), 1)
      yield* FiberSet.clear(pool.fibers)
      yield* settle
      assert.strictEqual(yield* FiberSet.size(pool.fibers), 0)
      assert.deepStrictEqual(pool.lanes[0]!.outcomes, { finished: 2, failed: 2 })
      assert.strictEqual(yield* inProgressCount, 1, "the interrupted job stays in progress")
    }).pipe(provideAtT0(Env)),
  )

  it.effect("phases announce QueuePausing, QueuePaused and QueueRunning once per change", () =>
    Effect.gen(function* () {
      const pool = yield* makePool(1)
      const recorder = yield* Recorder
      assert.strictEqual(yield* pool.lanes[0]!.phase, "active")
      for (const phase of ["active", "pausing", "pausing", "paused", "paused", "active", "active"] as const) {
        yield* pool.lanes[0]!.setPhase(phase)
        assert.strictEqual(yield* pool.lanes[0]!.phase, phase)
      }
      assert.deepStrictEqual<unknown>(
        recorder.events.map((event) => ({ ...event })),
        [
          { _tag: "QueuePausing", queue },
          { _tag: "QueuePaused", queue },
          { _tag: "QueueRunning", queue },
        ],
      )
    }).pipe(provideAtT0(Env)),
  )

  describe("reading ahead", () => {
    /** A job that ends at once (0 ms under TestClock), so that the pool knows its runs are short. */
    const warm = (pool: Pool.Pool) => fetchAndStart(pool, [rawJob("Ok", "warm")])

    it.effect(
      "a one-queue pool of short runs reads up to its concurrency ahead; each job starts in the next slot to free",
      () =>
        Effect.gen(function* () {
          const pool = yield* makePool(2)
          assert.deepStrictEqual(yield* reservationNow(pool), { count: 2, slots: 2 }, "no run has ended: none ahead")
          yield* warm(pool)
          assert.deepStrictEqual(yield* reservationNow(pool), { count: 4, slots: 2 })
          assert.strictEqual(yield* fetchAndStart(pool, [waits("a1"), waits("a2"), waits("a3"), waits("a4")]), 4)
          assert.deepStrictEqual(yield* runningJids(pool), ["a1", "a2"], "two run, two wait")
          assert.strictEqual(yield* inProgressCount, 4, "the jobs read ahead are in progress in the store")
          assert.deepStrictEqual(yield* reservationNow(pool), { count: 0, slots: 0 })
          yield* open("a2")
          yield* settle
          assert.deepStrictEqual(yield* runningJids(pool), ["a1", "a3"], "the oldest read ahead took the freed slot")
          assert.deepStrictEqual(yield* reservationNow(pool), { count: 1, slots: 0 }, "half the room is free")
          yield* open("a1")
          yield* open("a3")
          yield* settle
          assert.deepStrictEqual(yield* runningJids(pool), ["a4"])
          yield* open("a4")
          yield* settle
          assert.strictEqual(yield* inProgressCount, 0)
          assert.deepStrictEqual(pool.lanes[0]!.outcomes, { finished: 5, failed: 0 })
        }).pipe(provideAtT0(Env)),
    )

    it.effect(
      "a fetch takes about 1 MiB of payloads at most: large jobs fill a pool's slots over several fetches",
      () =>
        Effect.gen(function* () {
          const pool = yield* makePool(50)
          assert.deepStrictEqual(yield* reservationNow(pool), { count: 50, slots: 50 })
          // Jobs of about 300 KB that end at once: the recent average size climbs towards it.
          const large = Array.from({ length: 20 }, (_, n) => rawJob("Ok", `large${n}`, { pad: "x".repeat(300_000) }))
          assert.strictEqual(yield* fetchAndStart(pool, large), 20)
          yield* settle
          const { count, slots } = yield* reservationNow(pool)
          assert.isAtMost(count, 5)
          assert.isAtLeast(count, 1)
          assert.strictEqual(slots, count, "slots first, and nothing read ahead beyond the cap")
          const [first, next] = yield* Effect.scoped(Effect.all([pool.reserve, pool.reserve]))
          assert.deepStrictEqual([first.slots, next.slots], [count, count], "the slots it leaves are the next fetch's")
        }).pipe(provideAtT0(Env)),
    )

    it.effect("reconcile never puts back a job read ahead; giveBack puts them all back, and none starts", () =>
      Effect.gen(function* () {
        const pool = yield* makePool(1)
        yield* warm(pool)
        yield* fetchAndStart(pool, [waits("b1"), waits("b2")])
        assert.deepStrictEqual(yield* runningJids(pool), ["b1"])
        assert.strictEqual(yield* pool.reconcile(pool.lanes[0]!), 0)
        assert.strictEqual(yield* inProgressCount, 2)
        assert.strictEqual(yield* pool.giveBack(pool.lanes[0]!), 1)
        assert.deepStrictEqual(yield* queuedJids, ["b2"])
        yield* open("b1")
        yield* settle
        // Had b2 stayed read ahead, it would have started in b1's slot.
        assert.deepStrictEqual(yield* runningJids(pool), [])
        assert.strictEqual(yield* inProgressCount, 0)
        assert.deepStrictEqual(yield* queuedJids, ["b2"])
      }).pipe(provideAtT0(Env)),
    )

    it.effect("dropAhead forgets the jobs read ahead: they stay in progress, and reconcile puts them back", () =>
      Effect.gen(function* () {
        const pool = yield* makePool(1)
        yield* warm(pool)
        yield* fetchAndStart(pool, [waits("c1"), waits("c2")])
        yield* pool.dropAhead
        yield* open("c1")
        yield* settle
        assert.deepStrictEqual(yield* runningJids(pool), [], "c2 did not start")
        assert.strictEqual(yield* inProgressCount, 1)
        assert.strictEqual(yield* pool.reconcile(pool.lanes[0]!), 1)
        assert.deepStrictEqual(yield* queuedJids, ["c2"])
      }).pipe(provideAtT0(Env)),
    )

    it.effect(`runs that average ${ReadAhead.RunMillis} ms or more read nothing ahead`, () =>
      Effect.gen(function* () {
        const pool = yield* makePool(2)
        yield* fetchAndStart(pool, [waits("slow")])
        yield* TestClock.adjust(ReadAhead.RunMillis)
        yield* open("slow")
        yield* settle
        assert.deepStrictEqual(yield* reservationNow(pool), { count: 2, slots: 2 })
      }).pipe(provideAtT0(Env)),
    )

    it.effect("a pool of several queues reads nothing ahead: their order decides at each start", () =>
      Effect.gen(function* () {
        const pool = yield* makePool(2, [queue, "other"])
        yield* warm(pool)
        assert.deepStrictEqual(yield* reservationNow(pool), { count: 2, slots: 2 })
      }).pipe(provideAtT0(Env)),
    )
  })
})
