/**
 * The store conformance suite: every `Store` operation, with Redis's semantics, run against a
 * fresh store per test. `MemoryStore` and `RedisStore` must both pass it unchanged.
 *
 * Scores and times are passed to the store explicitly, so the TestClock of `it.effect` does not
 * matter except for `requeueNow`, which reads `Clock` (checked against the clock read around it).
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Fiber, Layer, Queue, Result, type Scope, Stream } from "effect"
import { DeadLetter } from "../../packages/core/src/DeadLetter.ts"
import * as Events from "../../packages/core/src/Events.ts"
import * as Inspection from "../../packages/core/src/Inspection.ts"
import * as Job from "../../packages/core/src/Job.ts"
import * as Payload from "../../packages/core/src/Payload.ts"
import * as Scheduler from "../../packages/core/src/Scheduler.ts"
import * as Settings from "../../packages/core/src/Settings.ts"
import {
  type DeadSetLimits,
  type Heartbeat,
  type Notification,
  Store,
  type StoreShape,
} from "../../packages/core/src/Store.ts"

/** A valid wire job; `extra` overrides or adds keys. */
const job = (jid: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ class: "TestWorker", queue: "default", args: [jid], jid, ...extra })

const parse = (raw: string): Record<string, unknown> => {
  const value: unknown = JSON.parse(raw)
  assert.isTrue(typeof value === "object" && value !== null && !Array.isArray(value), `not a JSON object: ${raw}`)
  return value as Record<string, unknown>
}

const NoLimits: DeadSetLimits = { maxJobs: 1_000_000, maxAgeSeconds: 1_000_000_000 }

/** What a fetch took, as payloads (tokens are looked at where they matter). */
const fetched = (store: StoreShape, ...args: Parameters<StoreShape["fetch"]>) =>
  Effect.map(store.fetch(...args), (taken) => ({ ...taken, jobs: taken.jobs.map(({ raw }) => raw) }))

/** A node's in-progress payloads, newest first. */
const held = (store: StoreShape, queue: string, node: string) =>
  Effect.map(store.inProgress(queue, node), (jobs) => jobs.map(({ raw }) => raw).reverse())

/** The tokens of in-progress entries holding `raws`, each entry used once, oldest first. */
const tokensOf = (store: StoreShape, queue: string, node: string, raws: ReadonlyArray<string>) =>
  Effect.map(store.inProgress(queue, node), (jobs) => {
    const left = [...jobs]
    return raws.map((raw) => {
      const index = left.findIndex((job) => job.raw === raw)
      assert.isAtLeast(index, 0, `${raw} is not in progress on ${node}`)
      return left.splice(index, 1)[0]!.token
    })
  })

/** A recovery batch, its poison pills as payloads. */
const recoverRaws = (store: StoreShape, ...args: Parameters<StoreShape["recoverBatch"]>) =>
  Effect.map(store.recoverBatch(...args), ({ taken, poisoned }) => ({
    taken,
    poisoned: poisoned.map(({ raw }) => raw),
  }))

/** The token of the in-progress entry holding `raw`. */
const tokenOf = (store: StoreShape, queue: string, node: string, raw: string) =>
  Effect.map(tokensOf(store, queue, node, [raw]), ([token]) => token!)

/** A heartbeat of `node` with nothing running. */
const beat = (node: string, ttlMillis: number, now: number): Heartbeat => ({
  node,
  ttlMillis,
  now,
  info: "{}",
  busy: 0,
  work: [],
})

/**
 * Makes `raws` suspects on an empty `queue`: node `dead` fetches them, dies, and one recovery puts
 * them back at the front of the queue, oldest first.
 */
const recovered = (queue: string, raws: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const store = yield* Store
    yield* store.enqueue(queue, raws)
    assert.deepStrictEqual((yield* fetched(store, queue, "dead", raws.length)).jobs, raws)
    assert.deepStrictEqual(yield* recoverRaws(store, queue, "dead", 5), { taken: raws.length, poisoned: [] })
    assert.deepStrictEqual(yield* held(store, queue, "dead"), [])
  })

/** Queue names whose Pause notifications the listener uses for itself; tests never use them. */
const Probe = "__probe__"
const Fence = "__fence__"

/** How long (real time) a test waits for a notification it expects before failing. */
const NotificationWait = "750 millis"

const show = (notices: ReadonlyArray<Notification>): string => JSON.stringify(notices)

/** Notifications in a stable order, for sources whose order the contract leaves open. */
const sorted = (notices: ReadonlyArray<Notification>): Array<Notification> =>
  [...notices].sort((a, b) => show([a]).localeCompare(show([b])))

/**
 * Runs `store.notifications` in a scoped fiber, collecting into a queue, and returns once the
 * subscription is live: a Redis subscription is made asynchronously after the stream starts, so
 * it keeps publishing a harmless probe (un-pausing `__probe__`) until the stream hears one.
 * Probe notifications are never collected.
 */
const listen = Effect.gen(function* () {
  const store = yield* Store
  const received = yield* Queue.unbounded<Notification>()
  const ready = yield* Deferred.make<void>()
  yield* store.notifications.pipe(
    Stream.runForEach((notice) =>
      notice._tag === "Pause" && notice.queue === Probe
        ? Deferred.succeed(ready, undefined)
        : Queue.offer(received, notice),
    ),
    Effect.forkScoped,
  )
  const poke = yield* store
    .setPaused(Probe, false)
    .pipe(Effect.andThen(Effect.sleep("10 millis")), Effect.forever, Effect.forkScoped)
  yield* Deferred.await(ready).pipe(
    Effect.timeoutOrElse({
      duration: "3 seconds",
      orElse: () => Effect.die(new Error("the notification stream never heard the probe")),
    }),
  )
  yield* Fiber.interrupt(poke)

  /** The next `count` notifications; fails, saying what did arrive, if they do not come in time. */
  const next = (count: number) =>
    Effect.gen(function* () {
      const got: Array<Notification> = []
      yield* Effect.gen(function* () {
        while (got.length < count) got.push(yield* Queue.take(received))
      }).pipe(
        Effect.timeoutOrElse({
          duration: NotificationWait,
          orElse: () =>
            Effect.sync(() =>
              assert.fail(`expected ${count} notification(s) within ${NotificationWait}, got ${show(got)}`),
            ),
        }),
      )
      return got
    })

  /**
   * Asserts that nothing was published since the last `next`: publishes a fence (un-pausing
   * `__fence__`) and expects it to be the very next notification, since one publisher's
   * notifications arrive in order.
   */
  const quiet = Effect.gen(function* () {
    yield* store.setPaused(Fence, false)
    const got: Array<Notification> = []
    yield* Effect.gen(function* () {
      while (true) {
        const notice = yield* Queue.take(received)
        if (notice._tag === "Pause" && notice.queue === Fence) return
        got.push(notice)
      }
    }).pipe(
      Effect.timeoutOrElse({
        duration: NotificationWait,
        orElse: () => Effect.sync(() => assert.fail(`the fence notification never arrived; got ${show(got)}`)),
      }),
    )
    assert.deepStrictEqual(got, [], `unexpected notifications: ${show(got)}`)
  })

  return { next, quiet }
})

export interface ConformanceOptions {
  /**
   * The Redis store's cluster key scheme, where each queue's keys live in their own slot: a job's
   * recoveries are counted per queue.
   */
  readonly shardedByQueue?: boolean
}

export const storeConformance = (
  name: string,
  makeLayer: () => Layer.Layer<Store, unknown>,
  options: ConformanceOptions = {},
) =>
  describe(name, () => {
    /** One test on a fresh store. Switch to `it.live` here if a store misbehaves under TestClock. */
    const test = <A>(title: string, body: Effect.Effect<A, unknown, Store | Scope.Scope>) =>
      it.effect(title, () => Effect.provide(body, makeLayer()))
    /** One test on a fresh store, in real time: notification tests wait with real timeouts. */
    const liveTest = <A>(title: string, body: Effect.Effect<A, unknown, Store | Scope.Scope>) =>
      it.live(title, () => Effect.provide(body, makeLayer()))

    describe("enqueue", () => {
      test(
        "LPUSHes payloads in order and registers the queue",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          yield* store.enqueue("q", ["c"])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["c", "b", "a"])
          assert.strictEqual(yield* store.queueSize("q"), 3)
          assert.deepStrictEqual(yield* store.queues, ["q"])
        }),
      )

      test(
        "keeps identical payloads as separate entries",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["x", "x"])
          yield* store.enqueue("q", ["x"])
          assert.strictEqual(yield* store.queueSize("q"), 3)
        }),
      )

      test(
        "keeps queues apart",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("one", ["a"])
          yield* store.enqueue("two", ["b", "c"])
          assert.deepStrictEqual([...(yield* store.queues)].sort(), ["one", "two"])
          assert.deepStrictEqual(yield* store.queueRange("one", 0, -1), ["a"])
          assert.deepStrictEqual(yield* store.queueRange("two", 0, -1), ["c", "b"])
        }),
      )

      test(
        "of an empty list does nothing: the queue is not registered",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", [])
          assert.deepStrictEqual(yield* store.queues, [])
          assert.strictEqual(yield* store.queueSize("q"), 0)
          yield* store.enqueue("other", ["a"])
          yield* store.enqueue("q", [])
          assert.deepStrictEqual(yield* store.queues, ["other"])
          assert.deepStrictEqual(yield* store.queueRange("other", 0, -1), ["a"])
        }),
      )
    })

    describe("enqueue with a token", () => {
      test(
        "a call repeated with its token pushes nothing; another token pushes again",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"], "token-1")
          yield* store.enqueue("q", ["a", "b"], "token-1")
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["b", "a"])
          yield* store.enqueue("q", ["c"], "token-1")
          assert.strictEqual(yield* store.queueSize("q"), 2, "the token is spent, whatever the call holds")
          yield* store.enqueue("q", ["a"], "token-2")
          yield* store.enqueue("q", ["a"])
          yield* store.enqueue("q", ["a"])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["a", "a", "a", "b", "a"])
        }),
      )

      test(
        "a token is spent on its queue only",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q1", ["a"], "token")
          yield* store.enqueue("q1", ["b"], "token")
          yield* store.enqueue("q2", ["a"], "token")
          assert.deepStrictEqual(yield* store.queueRange("q1", 0, -1), ["a"])
          assert.strictEqual(yield* store.queueSize("q2"), 1)
          assert.deepStrictEqual(yield* store.queues, ["q1", "q2"])
        }),
      )

      test(
        "an empty call does not spend its token",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", [], "token")
          yield* store.enqueue("q", ["a"], "token")
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["a"])
        }),
      )

      liveTest(
        "a repeated call publishes nothing",
        Effect.gen(function* () {
          const store = yield* Store
          const { next, quiet } = yield* listen
          yield* store.enqueue("q", ["a"], "token")
          assert.deepStrictEqual(yield* next(1), [{ _tag: "Work", queue: "q" }])
          yield* store.enqueue("q", ["a"], "token")
          yield* quiet
        }),
      )
    })

    describe("payloads whose bytes are not UTF-8 (Payload's binary form)", () => {
      /** `{ÿþ}`: not UTF-8; a job but for one byte inside a string; a text that starts like the marker. */
      const notText = Payload.fromBytes(Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]))
      const badByte = Payload.fromBytes(
        Uint8Array.from([...Buffer.from('{"class":"X","queue":"q","args":["'), 0xff, ...Buffer.from('"],"jid":"j"}')]),
      )
      const likeMarker = Payload.fromBytes(Buffer.from(`${Payload.Marker}not base64 at all`))
      const nulText = "\u0000plain text that starts with NUL"
      const hostile = [notText, badByte, likeMarker, nulText]

      test(
        "come back as they went in: enqueue, queueRange, fetch, inProgress, ack",
        Effect.gen(function* () {
          const store = yield* Store
          assert.isTrue(Payload.isBinary(notText) && Payload.isBinary(badByte) && Payload.isBinary(likeMarker))
          assert.isFalse(Payload.isBinary(nulText))
          yield* store.enqueue("q", hostile)
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), [...hostile].reverse())
          assert.deepStrictEqual((yield* fetched(store, "q", "n", 10)).jobs, hostile)
          assert.deepStrictEqual(yield* held(store, "q", "n"), [...hostile].reverse())
          yield* store.ack("q", "n", yield* tokensOf(store, "q", "n", hostile))
          assert.deepStrictEqual(yield* held(store, "q", "n"), [])
        }),
      )

      test(
        "kill and retry take them out of in-progress; what they write is kept as given",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", [notText, badByte])
          yield* fetched(store, "q", "n", 2)
          yield* store.kill("q", "n", yield* tokenOf(store, "q", "n", notText), badByte, 5, NoLimits)
          yield* store.retry("q", "n", yield* tokenOf(store, "q", "n", badByte), notText, 7)
          assert.deepStrictEqual(yield* held(store, "q", "n"), [])
          assert.deepStrictEqual(yield* store.setRange("dead", 0, -1), [{ payload: badByte, score: 5 }])
          assert.deepStrictEqual(yield* store.setRange("retry", 0, -1), [{ payload: notText, score: 7 }])
        }),
      )

      test(
        "in sorted sets: addScheduled, due, promote, setRange and deleteFromSet find them",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("schedule", [
            { payload: notText, score: 1 },
            { payload: badByte, score: 2 },
            { payload: likeMarker, score: 3 },
          ])
          assert.deepStrictEqual(yield* store.due("schedule", 10, 10), [notText, badByte, likeMarker])
          const moved = yield* store.promote(
            "schedule",
            [
              { raw: notText, payload: notText, queue: undefined },
              { raw: badByte, payload: badByte, queue: "q" },
            ],
            9,
          )
          assert.strictEqual(moved, 2)
          assert.deepStrictEqual(yield* store.setRange("dead", 0, -1), [{ payload: notText, score: 9 }])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), [badByte])
          assert.isTrue(yield* store.deleteFromSet("schedule", likeMarker))
          assert.isTrue(yield* store.deleteFromSet("dead", notText))
          assert.strictEqual(yield* store.setSize("schedule"), 0)
          assert.strictEqual(yield* store.setSize("dead"), 0)
          assert.isTrue(yield* store.deleteFromQueue("q", badByte))
          assert.strictEqual(yield* store.queueSize("q"), 0)
        }),
      )

      test(
        "recovery, poison pills, forgetRecovery, requeueOrphans and requeueInProgress keep them whole",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", [notText, badByte])
          yield* fetched(store, "q", "dead", 2)
          assert.deepStrictEqual(yield* recoverRaws(store, "q", "dead", 0), {
            taken: 2,
            poisoned: [badByte, notText],
          })
          yield* store.kill("q", "dead", yield* tokenOf(store, "q", "dead", notText), "entry", 5, NoLimits)
          yield* store.forgetRecovery("q", notText)
          yield* store.kill("q", "dead", yield* tokenOf(store, "q", "dead", badByte), "entry", 5, NoLimits)
          assert.deepStrictEqual(yield* held(store, "q", "dead"), [])

          // Forgotten: it is no longer a suspect; the other one still is.
          yield* store.enqueue("q", [notText])
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10), {
            jobs: [notText],
            isolated: false,
            blocked: false,
          })
          assert.strictEqual(yield* store.requeueOrphans("q", "n", yield* tokensOf(store, "q", "n", [notText])), 1)
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10), {
            jobs: [notText],
            isolated: false,
            blocked: false,
          })
          assert.strictEqual(yield* store.requeueInProgress("q", "n"), 1)
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), [notText])
          yield* store.enqueue("q2", [badByte])
          assert.deepStrictEqual(
            yield* fetched(store, "q2", "n", 10),
            options.shardedByQueue
              ? { jobs: [badByte], isolated: false, blocked: false }
              : { jobs: [], isolated: false, blocked: true },
          )
        }),
      )
    })

    describe("addScheduled", () => {
      test(
        "adds to the named set with its score, ZADD style",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("schedule", [
            { payload: "s1", score: 10.5 },
            { payload: "s2", score: 5 },
          ])
          yield* store.addScheduled("retry", [{ payload: "r1", score: 7.25 }])
          assert.deepStrictEqual(yield* store.setRange("schedule", 0, -1), [
            { payload: "s2", score: 5 },
            { payload: "s1", score: 10.5 },
          ])
          assert.deepStrictEqual(yield* store.setRange("retry", 0, -1), [{ payload: "r1", score: 7.25 }])
          assert.strictEqual(yield* store.setSize("dead"), 0)
        }),
      )

      test(
        "re-adding a member updates its score instead of duplicating it",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("schedule", [{ payload: "s", score: 10 }])
          yield* store.addScheduled("schedule", [{ payload: "s", score: 20 }])
          assert.deepStrictEqual(yield* store.setRange("schedule", 0, -1), [{ payload: "s", score: 20 }])
        }),
      )
    })

    describe("fetch", () => {
      test(
        "takes the oldest jobs first",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b", "c"])
          assert.deepStrictEqual((yield* fetched(store, "q", "n", 2)).jobs, ["a", "b"])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["c"])
        }),
      )

      test(
        "with N greater than the queue length takes all, oldest first",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b", "c"])
          assert.deepStrictEqual((yield* fetched(store, "q", "n", 10)).jobs, ["a", "b", "c"])
          assert.strictEqual(yield* store.queueSize("q"), 0)
          assert.deepStrictEqual((yield* fetched(store, "q", "n", 10)).jobs, [])
        }),
      )

      test(
        "with N = 0 takes nothing and leaves the queue intact",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          assert.deepStrictEqual((yield* fetched(store, "q", "n", 0)).jobs, [])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["b", "a"])
          assert.deepStrictEqual(yield* held(store, "q", "n"), [])
        }),
      )

      test(
        "with a negative N takes nothing and leaves the queue intact",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          assert.deepStrictEqual((yield* fetched(store, "q", "n", -1)).jobs, [])
          assert.deepStrictEqual((yield* fetched(store, "q", "n", -5)).jobs, [])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["b", "a"])
          assert.deepStrictEqual(yield* held(store, "q", "n"), [])
        }),
      )

      test(
        "from an empty or unknown queue returns nothing",
        Effect.gen(function* () {
          const store = yield* Store
          assert.deepStrictEqual((yield* fetched(store, "nowhere", "n", 5)).jobs, [])
          assert.deepStrictEqual(yield* held(store, "nowhere", "n"), [])
        }),
      )

      test(
        "puts fetched jobs in the node's in-progress list, newest first",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b", "c"])
          yield* fetched(store, "q", "n1", 2)
          yield* fetched(store, "q", "n2", 1)
          assert.deepStrictEqual(yield* held(store, "q", "n1"), ["b", "a"])
          assert.deepStrictEqual(yield* held(store, "q", "n2"), ["c"])
          assert.deepStrictEqual(yield* held(store, "other", "n1"), [])
        }),
      )
    })

    describe("ack", () => {
      test(
        "removes exactly one occurrence per raw, even among identical payloads",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["x", "x", "y"])
          assert.deepStrictEqual((yield* fetched(store, "q", "n", 3)).jobs, ["x", "x", "y"])
          yield* store.ack("q", "n", yield* tokensOf(store, "q", "n", ["x"]))
          assert.deepStrictEqual(yield* held(store, "q", "n"), ["y", "x"])
          yield* store.ack("q", "n", yield* tokensOf(store, "q", "n", ["x", "y"]))
          assert.deepStrictEqual(yield* held(store, "q", "n"), [])
        }),
      )

      test(
        "the same raw twice in one call removes two occurrences",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["x", "x", "x"])
          yield* fetched(store, "q", "n", 3)
          yield* store.ack("q", "n", yield* tokensOf(store, "q", "n", ["x", "x"]))
          assert.deepStrictEqual(yield* held(store, "q", "n"), ["x"])
        }),
      )

      test(
        "of a raw not in progress changes nothing, and only touches that node",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          yield* fetched(store, "q", "n1", 1)
          yield* fetched(store, "q", "n2", 1)
          yield* store.ack("q", "n1", ["zzz", ...(yield* tokensOf(store, "q", "n2", ["b"]))])
          yield* store.ack("q", "n1", [])
          assert.deepStrictEqual(yield* held(store, "q", "n1"), ["a"])
          assert.deepStrictEqual(yield* held(store, "q", "n2"), ["b"])
        }),
      )
    })

    describe("retry", () => {
      test(
        "adds the new payload to retry at its score and removes the raw from in-progress",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          yield* fetched(store, "q", "n", 2)
          yield* store.retry("q", "n", yield* tokenOf(store, "q", "n", "a"), "a-failed", 1234.5)
          assert.deepStrictEqual(yield* store.setRange("retry", 0, -1), [{ payload: "a-failed", score: 1234.5 }])
          assert.deepStrictEqual(yield* held(store, "q", "n"), ["b"])
          assert.strictEqual(yield* store.setSize("dead"), 0)
          assert.strictEqual(yield* store.queueSize("q"), 0)
        }),
      )
    })

    describe("kill", () => {
      test(
        "adds the new payload to dead at its score and removes the raw from in-progress",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          yield* fetched(store, "q", "n", 2)
          yield* store.kill("q", "n", yield* tokenOf(store, "q", "n", "b"), "b-dead", 500.25, NoLimits)
          assert.deepStrictEqual(yield* store.setRange("dead", 0, -1), [{ payload: "b-dead", score: 500.25 }])
          assert.deepStrictEqual(yield* held(store, "q", "n"), ["a"])
          assert.strictEqual(yield* store.setSize("retry"), 0)
        }),
      )

      test(
        "trims the dead set to exactly the newest maxJobs",
        Effect.gen(function* () {
          const store = yield* Store
          for (const at of [1, 2, 3, 4]) yield* store.kill("q", "n", "none", `d${at}`, at, NoLimits)
          assert.strictEqual(yield* store.setSize("dead"), 4)
          yield* store.kill("q", "n", "none", "d5", 5, { maxJobs: 3, maxAgeSeconds: 1_000_000 })
          assert.deepStrictEqual(yield* store.setRange("dead", 0, -1), [
            { payload: "d3", score: 3 },
            { payload: "d4", score: 4 },
            { payload: "d5", score: 5 },
          ])
        }),
      )

      test(
        "drops dead jobs older than at - maxAgeSeconds",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.kill("q", "n", "none", "old", 100, NoLimits)
          yield* store.kill("q", "n", "none", "recent", 500, NoLimits)
          yield* store.kill("q", "n", "none", "now", 1000, { maxJobs: 100, maxAgeSeconds: 600 })
          assert.deepStrictEqual(yield* store.setRange("dead", 0, -1), [
            { payload: "recent", score: 500 },
            { payload: "now", score: 1000 },
          ])
        }),
      )

      test(
        "drops a dead job scored exactly at the age cutoff",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.kill("q", "n", "none", "edge", 400, NoLimits)
          yield* store.kill("q", "n", "none", "inside", 400.5, NoLimits)
          yield* store.kill("q", "n", "none", "now", 1000, { maxJobs: 100, maxAgeSeconds: 600 })
          assert.deepStrictEqual(
            (yield* store.setRange("dead", 0, -1)).map(({ payload }) => payload),
            ["inside", "now"],
          )
        }),
      )

      test(
        "with maxJobs 0 keeps nothing",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.kill("q", "n", "none", "d1", 1, NoLimits)
          yield* store.kill("q", "n", "none", "d2", 2, { maxJobs: 0, maxAgeSeconds: 1_000_000 })
          assert.strictEqual(yield* store.setSize("dead"), 0)
        }),
      )
    })

    describe("requeueInProgress", () => {
      test(
        "puts in-progress jobs back to run next, in their original order, before waiting jobs",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b", "c"])
          assert.deepStrictEqual((yield* fetched(store, "q", "n", 2)).jobs, ["a", "b"])
          yield* store.enqueue("q", ["d"])
          assert.strictEqual(yield* store.requeueInProgress("q", "n"), 2)
          assert.deepStrictEqual(yield* held(store, "q", "n"), [])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["d", "c", "b", "a"])
          assert.deepStrictEqual((yield* fetched(store, "q", "n", 10)).jobs, ["a", "b", "c", "d"])
        }),
      )

      test(
        "keeps the order of many in-progress jobs",
        Effect.gen(function* () {
          const store = yield* Store
          const jobs = Array.from({ length: 250 }, (_, i) => `j${i}`)
          yield* store.enqueue("q", jobs)
          assert.deepStrictEqual((yield* fetched(store, "q", "n", 250)).jobs, jobs)
          yield* store.enqueue("q", ["waiting"])
          assert.strictEqual(yield* store.requeueInProgress("q", "n"), 250)
          assert.deepStrictEqual((yield* fetched(store, "q", "n", 1000)).jobs, [...jobs, "waiting"])
        }),
      )

      test(
        "on an empty in-progress list returns 0 and changes nothing",
        Effect.gen(function* () {
          const store = yield* Store
          assert.strictEqual(yield* store.requeueInProgress("q", "n"), 0)
          yield* store.enqueue("q", ["a"])
          assert.strictEqual(yield* store.requeueInProgress("q", "n"), 0)
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["a"])
        }),
      )

      test(
        "only requeues the given node's jobs",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          yield* fetched(store, "q", "n1", 1)
          yield* fetched(store, "q", "n2", 1)
          assert.strictEqual(yield* store.requeueInProgress("q", "n1"), 1)
          assert.deepStrictEqual(yield* held(store, "q", "n2"), ["b"])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["a"])
        }),
      )
    })

    describe("fetch with recovered jobs", () => {
      test(
        "with no suspects is never isolated nor blocked, even when asked to isolate",
        Effect.gen(function* () {
          const store = yield* Store
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, true), {
            jobs: [],
            isolated: false,
            blocked: false,
          })
          yield* store.enqueue("q", ["a", "b"])
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10), {
            jobs: ["a", "b"],
            isolated: false,
            blocked: false,
          })
          yield* store.enqueue("q", ["c", "d"])
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, true), {
            jobs: ["c", "d"],
            isolated: false,
            blocked: false,
          })
        }),
      )

      test(
        "a suspect first in the queue blocks a fetch that may not isolate, and stays first",
        Effect.gen(function* () {
          const store = yield* Store
          yield* recovered("q", ["s"])
          yield* store.enqueue("q", ["a"])
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, false), {
            jobs: [],
            isolated: false,
            blocked: true,
          })
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 1), { jobs: [], isolated: false, blocked: true })
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["a", "s"])
          assert.deepStrictEqual(yield* held(store, "q", "n"), [])
          // nothing was taken, so the node is not registered for the queue
          assert.deepStrictEqual(yield* store.nodeQueues("n"), [])
        }),
      )

      test(
        "an idle node takes exactly the suspect, isolated",
        Effect.gen(function* () {
          const store = yield* Store
          yield* recovered("q", ["s"])
          yield* store.enqueue("q", ["a", "b"])
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, true), {
            jobs: ["s"],
            isolated: true,
            blocked: false,
          })
          assert.deepStrictEqual(yield* held(store, "q", "n"), ["s"])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["b", "a"])
          assert.deepStrictEqual(yield* store.nodeQueues("n"), ["q"])
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, true), {
            jobs: ["a", "b"],
            isolated: false,
            blocked: false,
          })
        }),
      )

      test(
        "takes the normal jobs ahead of a suspect and stops at it, blocked",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          yield* fetched(store, "q", "n1", 2)
          yield* recovered("q", ["s"])
          // a and b go back ahead of the suspect, c waits behind it
          assert.strictEqual(yield* store.requeueInProgress("q", "n1"), 2)
          yield* store.enqueue("q", ["c"])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["c", "s", "b", "a"])
          // a node asking for isolation does not get the suspect once it took other jobs
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, true), {
            jobs: ["a", "b"],
            isolated: false,
            blocked: true,
          })
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["c", "s"])
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, false), {
            jobs: [],
            isolated: false,
            blocked: true,
          })
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, true), {
            jobs: ["s"],
            isolated: true,
            blocked: false,
          })
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, false), {
            jobs: ["c"],
            isolated: false,
            blocked: false,
          })
          assert.deepStrictEqual(yield* held(store, "q", "n"), ["c", "s", "b", "a"])
        }),
      )

      test(
        "a suspect behind other suspects is taken alone too",
        Effect.gen(function* () {
          const store = yield* Store
          yield* recovered("q", ["s1", "s2"])
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, true), {
            jobs: ["s1"],
            isolated: true,
            blocked: false,
          })
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, false), {
            jobs: [],
            isolated: false,
            blocked: true,
          })
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, true), {
            jobs: ["s2"],
            isolated: true,
            blocked: false,
          })
          assert.strictEqual(yield* store.queueSize("q"), 0)
        }),
      )

      test(
        "after forgetRecovery the job is normal again",
        Effect.gen(function* () {
          const store = yield* Store
          yield* recovered("q", ["s", "t"])
          yield* store.enqueue("q", ["a"])
          yield* store.forgetRecovery("q", "s")
          yield* store.forgetRecovery("q", "t")
          yield* store.forgetRecovery("q", "never-recovered")
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, false), {
            jobs: ["s", "t", "a"],
            isolated: false,
            blocked: false,
          })
        }),
      )

      test(
        "forgetRecovery of one suspect leaves the others suspect",
        Effect.gen(function* () {
          const store = yield* Store
          yield* recovered("q", ["s", "t"])
          yield* store.forgetRecovery("q", "s")
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, true), {
            jobs: ["s"],
            isolated: false,
            blocked: true,
          })
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["t"])
        }),
      )
    })

    describe("recoverBatch", () => {
      test(
        "puts a dead node's jobs back to run next, oldest first, before waiting jobs",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b", "c"])
          assert.deepStrictEqual((yield* fetched(store, "q", "dead", 2)).jobs, ["a", "b"])
          yield* store.enqueue("q", ["d"])
          assert.deepStrictEqual(yield* recoverRaws(store, "q", "dead", 3), { taken: 2, poisoned: [] })
          assert.deepStrictEqual(yield* held(store, "q", "dead"), [])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["d", "c", "b", "a"])
        }),
      )

      test(
        "of an empty in-progress list takes nothing and changes nothing",
        Effect.gen(function* () {
          const store = yield* Store
          assert.deepStrictEqual(yield* recoverRaws(store, "q", "dead", 3), { taken: 0, poisoned: [] })
          yield* store.enqueue("q", ["a"])
          yield* fetched(store, "q", "alive", 1)
          yield* store.enqueue("q", ["b"])
          assert.deepStrictEqual(yield* recoverRaws(store, "q", "dead", 3), { taken: 0, poisoned: [] })
          assert.deepStrictEqual(yield* recoverRaws(store, "other", "alive", 3), { taken: 0, poisoned: [] })
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["b"])
          assert.deepStrictEqual(yield* held(store, "q", "alive"), ["a"])
          // b was never recovered: it is not a suspect
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10), { jobs: ["b"], isolated: false, blocked: false })
        }),
      )

      test(
        "counts recoveries of a payload; past maxRecoveries it stays at the end of the dead node's list",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["p"])
          yield* fetched(store, "q", "d1", 1)
          assert.deepStrictEqual(yield* recoverRaws(store, "q", "d1", 2), { taken: 1, poisoned: [] })
          assert.deepStrictEqual((yield* fetched(store, "q", "d2", 10, true)).jobs, ["p"])
          assert.deepStrictEqual(yield* recoverRaws(store, "q", "d2", 2), { taken: 1, poisoned: [] })
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["p"])
          // the third recovery is one too many; z, recovered with it for the first time, is requeued
          assert.deepStrictEqual((yield* fetched(store, "q", "d3", 10, true)).jobs, ["p"])
          yield* store.enqueue("q", ["z"])
          assert.deepStrictEqual((yield* fetched(store, "q", "d3", 10)).jobs, ["z"])
          assert.deepStrictEqual(yield* recoverRaws(store, "q", "d3", 2), { taken: 2, poisoned: ["p"] })
          assert.deepStrictEqual(yield* held(store, "q", "d3"), ["p"])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["z"])
          // the caller kills the pill from the dead node's list
          yield* store.kill("q", "d3", yield* tokenOf(store, "q", "d3", "p"), "p-dead", 10, NoLimits)
          assert.deepStrictEqual(yield* held(store, "q", "d3"), [])
          assert.deepStrictEqual(yield* store.setRange("dead", 0, -1), [{ payload: "p-dead", score: 10 }])
        }),
      )

      test(
        "with maxRecoveries 0 every job taken is a poison pill and none is requeued",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          yield* fetched(store, "q", "dead", 2)
          yield* store.enqueue("q", ["c"])
          const batch = yield* recoverRaws(store, "q", "dead", 0)
          assert.strictEqual(batch.taken, 2)
          assert.deepStrictEqual([...batch.poisoned].sort(), ["a", "b"])
          assert.deepStrictEqual([...(yield* held(store, "q", "dead"))].sort(), ["a", "b"])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["c"])
        }),
      )

      test(
        "only recovers the given node's list for the given queue",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          yield* store.enqueue("r", ["c"])
          yield* fetched(store, "q", "dead", 1)
          yield* fetched(store, "q", "alive", 1)
          yield* fetched(store, "r", "dead", 1)
          assert.deepStrictEqual(yield* recoverRaws(store, "q", "dead", 3), { taken: 1, poisoned: [] })
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["a"])
          assert.deepStrictEqual(yield* held(store, "q", "alive"), ["b"])
          assert.deepStrictEqual(yield* held(store, "r", "dead"), ["c"])
          assert.strictEqual(yield* store.queueSize("r"), 0)
        }),
      )
    })

    describe("requeueOrphans", () => {
      test(
        "moves listed jobs still in progress, one occurrence each, to the front of the queue",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b", "x", "x", "c"])
          assert.deepStrictEqual((yield* fetched(store, "q", "n", 4)).jobs, ["a", "b", "x", "x"])
          yield* store.enqueue("q", ["d"])
          assert.strictEqual(
            yield* store.requeueOrphans("q", "n", [...(yield* tokensOf(store, "q", "n", ["b", "x"])), "missing"]),
            2,
          )
          assert.deepStrictEqual(yield* held(store, "q", "n"), ["x", "a"])
          const queued = yield* store.queueRange("q", 0, -1)
          assert.deepStrictEqual(queued.slice(0, 2), ["d", "c"])
          assert.sameMembers([...queued.slice(2)], ["b", "x"])
          // orphans are not suspects
          const taken = yield* fetched(store, "q", "n2", 10)
          assert.sameMembers([...taken.jobs.slice(0, 2)], ["b", "x"])
          assert.deepStrictEqual(taken.jobs.slice(2), ["c", "d"])
          assert.isFalse(taken.blocked)
        }),
      )

      test(
        "of tokens not in the node's entries does nothing and returns 0",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b", "c"])
          yield* fetched(store, "q", "n1", 1)
          yield* fetched(store, "q", "n2", 1)
          const [b] = yield* tokensOf(store, "q", "n2", ["b"])
          assert.strictEqual(yield* store.requeueOrphans("q", "n1", [b!, "zzz"]), 0)
          assert.strictEqual(yield* store.requeueOrphans("q", "n1", []), 0)
          assert.strictEqual(yield* store.requeueOrphans("other", "n1", yield* tokensOf(store, "q", "n1", ["a"])), 0)
          assert.deepStrictEqual(yield* held(store, "q", "n1"), ["a"])
          assert.deepStrictEqual(yield* held(store, "q", "n2"), ["b"])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["c"])
          assert.strictEqual(yield* store.queueSize("other"), 0)
        }),
      )

      test(
        "moves a token listed twice only once",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a"])
          yield* fetched(store, "q", "n", 1)
          const a = yield* tokenOf(store, "q", "n", "a")
          assert.strictEqual(yield* store.requeueOrphans("q", "n", [a, a]), 1)
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["a"])
          assert.deepStrictEqual(yield* held(store, "q", "n"), [])
          assert.strictEqual(yield* store.requeueOrphans("q", "n", [a]), 0)
          assert.strictEqual(yield* store.queueSize("q"), 1)
        }),
      )
    })

    describe("nodes", () => {
      liveTest(
        "a heartbeat registers the node, which is alive until its ttl passes",
        Effect.gen(function* () {
          const store = yield* Store
          assert.deepStrictEqual(yield* store.nodes, [])
          assert.isFalse(yield* store.isAlive("n1", Date.now()))
          yield* store.heartbeat(beat("n1", 250, Date.now()))
          yield* store.heartbeat(beat("n2", 60_000, Date.now()))
          assert.deepStrictEqual(yield* store.nodes, ["n1", "n2"])
          assert.isTrue(yield* store.isAlive("n1", Date.now()))
          assert.isTrue(yield* store.isAlive("n2", Date.now()))
          assert.isFalse(yield* store.isAlive("other", Date.now()))
          yield* Effect.sleep("400 millis")
          assert.isFalse(yield* store.isAlive("n1", Date.now()))
          assert.isTrue(yield* store.isAlive("n2", Date.now()))
          // a dead node stays registered until it is deregistered
          assert.deepStrictEqual(yield* store.nodes, ["n1", "n2"])
        }),
      )

      liveTest(
        "another heartbeat extends the node's life",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.heartbeat(beat("n", 300, Date.now()))
          yield* Effect.sleep("200 millis")
          yield* store.heartbeat(beat("n", 300, Date.now()))
          yield* Effect.sleep("200 millis")
          assert.isTrue(yield* store.isAlive("n", Date.now()))
          assert.deepStrictEqual(yield* store.nodes, ["n"])
        }),
      )

      liveTest(
        "processes lists Sidekiq's registry as the last heartbeats wrote it, until deregistered",
        Effect.gen(function* () {
          const store = yield* Store
          assert.deepStrictEqual(yield* store.processes, [])
          const now = Date.now()
          const work = [["w0", '{"queue":"q","payload":{"jid":"j1"},"run_at":1}']] as const
          yield* store.heartbeat({ ...beat("n2", 60_000, now), info: '{"pid":2}', busy: 1, work })
          yield* store.heartbeat(beat("n1", 60_000, now))
          yield* store.heartbeat({ ...beat("n1", 60_000, now), info: '{"pid":1}', busy: 0 })
          const processes = yield* store.processes
          assert.deepStrictEqual(
            processes.map((entry) => [entry.identity, entry.info, entry.busy, entry.work]),
            [
              ["n1", '{"pid":1}', 0, []],
              ["n2", '{"pid":2}', 1, [["w0", '{"queue":"q","payload":{"jid":"j1"},"run_at":1}']]],
            ],
          )
          assert.closeTo(processes[0]?.beat ?? 0, now / 1000, 0.01)
          assert.isTrue(yield* store.deregister("n2"))
          assert.deepStrictEqual(
            (yield* store.processes).map((entry) => entry.identity),
            ["n1"],
          )
        }),
      )

      test(
        "fetch registers the node and the queue, only when it took jobs",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a"])
          yield* fetched(store, "q", "n", 0)
          assert.deepStrictEqual(yield* store.nodeQueues("n"), [])
          assert.deepStrictEqual(yield* store.nodes, [])
          yield* fetched(store, "empty", "n", 5)
          assert.deepStrictEqual(yield* store.nodeQueues("n"), [])
          assert.deepStrictEqual(yield* store.nodes, [])
          yield* fetched(store, "q", "n", 5)
          assert.deepStrictEqual(yield* store.nodeQueues("n"), ["q"])
          assert.deepStrictEqual(yield* store.nodes, ["n"])
          yield* store.enqueue("r", ["b"])
          yield* fetched(store, "r", "n", 1)
          yield* store.enqueue("s", ["c"])
          yield* fetched(store, "s", "m", 1)
          assert.deepStrictEqual(yield* store.nodeQueues("n"), ["q", "r"])
          assert.deepStrictEqual(yield* store.nodeQueues("m"), ["s"])
          assert.deepStrictEqual(yield* store.nodeQueues("other"), [])
          assert.deepStrictEqual(yield* store.nodes, ["m", "n"])
        }),
      )
    })

    describe("deregister", () => {
      test(
        "forgets a node that holds no in-progress jobs",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.heartbeat(beat("n", 60_000, Date.now()))
          yield* store.heartbeat(beat("m", 60_000, Date.now()))
          yield* store.enqueue("q", ["a"])
          yield* fetched(store, "q", "n", 1)
          yield* store.ack("q", "n", yield* tokensOf(store, "q", "n", ["a"]))
          assert.isTrue(yield* store.deregister("n"))
          assert.deepStrictEqual(yield* store.nodes, ["m"])
          assert.deepStrictEqual(yield* store.nodeQueues("n"), [])
          assert.isFalse(yield* store.isAlive("n", Date.now()))
          assert.isTrue(yield* store.isAlive("m", Date.now()))
          assert.isTrue(yield* store.deregister("n"))
          assert.isTrue(yield* store.deregister("never-seen"))
        }),
      )

      test(
        "keeps a node that still holds in-progress jobs, until they are gone",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a"])
          yield* store.enqueue("r", ["b"])
          yield* fetched(store, "q", "n", 1)
          yield* fetched(store, "r", "n", 1)
          yield* store.ack("r", "n", yield* tokensOf(store, "r", "n", ["b"]))
          assert.isFalse(yield* store.deregister("n"))
          assert.deepStrictEqual(yield* store.nodes, ["n"])
          assert.include(yield* store.nodeQueues("n"), "q")
          assert.deepStrictEqual(yield* held(store, "q", "n"), ["a"])
          // its jobs can still be recovered, and then it goes
          assert.deepStrictEqual(yield* recoverRaws(store, "q", "n", 3), { taken: 1, poisoned: [] })
          assert.isTrue(yield* store.deregister("n"))
          assert.deepStrictEqual(yield* store.nodes, [])
          assert.deepStrictEqual(yield* store.nodeQueues("n"), [])
        }),
      )
    })

    describe("earliest", () => {
      test(
        "of an empty set is undefined",
        Effect.gen(function* () {
          const store = yield* Store
          assert.isUndefined(yield* store.earliest("schedule"))
          assert.isUndefined(yield* store.earliest("retry"))
        }),
      )

      test(
        "is the lowest score of the named set, and follows removals",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("schedule", [
            { payload: "s30", score: 30 },
            { payload: "s10", score: 10.5 },
            { payload: "s20", score: 20 },
          ])
          assert.strictEqual(yield* store.earliest("schedule"), 10.5)
          assert.isUndefined(yield* store.earliest("retry"))
          yield* store.addScheduled("retry", [{ payload: "r", score: 1_700_000_000.25 }])
          assert.strictEqual(yield* store.earliest("retry"), 1_700_000_000.25)
          assert.strictEqual(yield* store.earliest("schedule"), 10.5)
          yield* store.deleteFromSet("schedule", "s10")
          assert.strictEqual(yield* store.earliest("schedule"), 20)
          yield* store.promote("schedule", [{ raw: "s20", payload: "s20", queue: "q" }], 99)
          assert.strictEqual(yield* store.earliest("schedule"), 30)
          yield* store.clearSet("schedule")
          assert.isUndefined(yield* store.earliest("schedule"))
          assert.strictEqual(yield* store.earliest("retry"), 1_700_000_000.25)
        }),
      )

      test(
        "reads a negative and a zero score",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("retry", [
            { payload: "zero", score: 0 },
            { payload: "negative", score: -5 },
          ])
          assert.strictEqual(yield* store.earliest("retry"), -5)
          yield* store.deleteFromSet("retry", "negative")
          assert.strictEqual(yield* store.earliest("retry"), 0)
        }),
      )
    })

    describe("due", () => {
      const seed = Store.use((store) =>
        store.addScheduled("schedule", [
          { payload: "s30", score: 30 },
          { payload: "s10", score: 10 },
          { payload: "s20", score: 20 },
        ]),
      )

      test(
        "returns only members with score <= now, oldest first",
        Effect.gen(function* () {
          const store = yield* Store
          yield* seed
          assert.deepStrictEqual(yield* store.due("schedule", 20, 100), ["s10", "s20"])
          assert.deepStrictEqual(yield* store.due("schedule", 19.999, 100), ["s10"])
          assert.deepStrictEqual(yield* store.due("schedule", 9, 100), [])
          assert.deepStrictEqual(yield* store.due("schedule", 1000, 100), ["s10", "s20", "s30"])
          // due only reads
          assert.strictEqual(yield* store.setSize("schedule"), 3)
        }),
      )

      test(
        "respects the limit",
        Effect.gen(function* () {
          const store = yield* Store
          yield* seed
          assert.deepStrictEqual(yield* store.due("schedule", 1000, 2), ["s10", "s20"])
          assert.deepStrictEqual(yield* store.due("schedule", 1000, 1), ["s10"])
          assert.deepStrictEqual(yield* store.due("schedule", 1000, 0), [])
        }),
      )

      test(
        "reads only the named set",
        Effect.gen(function* () {
          const store = yield* Store
          yield* seed
          yield* store.addScheduled("retry", [{ payload: "r5", score: 5 }])
          assert.deepStrictEqual(yield* store.due("retry", 1000, 100), ["r5"])
          assert.deepStrictEqual(yield* store.due("schedule", 5, 100), [])
        }),
      )
    })

    describe("promote", () => {
      test(
        "moves members still in the set to their queue, and ignores the rest",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("schedule", [
            { payload: "a", score: 10 },
            { payload: "b", score: 20 },
          ])
          const moved = yield* store.promote(
            "schedule",
            [
              { raw: "a", payload: "a-stamped", queue: "q" },
              { raw: "missing", payload: "missing-stamped", queue: "q" },
            ],
            99,
          )
          assert.strictEqual(moved, 1)
          assert.deepStrictEqual(yield* store.setRange("schedule", 0, -1), [{ payload: "b", score: 20 }])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["a-stamped"])
          assert.deepStrictEqual(yield* store.queues, ["q"])
          assert.strictEqual(yield* store.setSize("dead"), 0)
        }),
      )

      test(
        "moves a member once when promoted twice",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("retry", [{ payload: "a", score: 10 }])
          const promotion = { raw: "a", payload: "a-stamped", queue: "q" }
          assert.strictEqual(yield* store.promote("retry", [promotion], 99), 1)
          assert.strictEqual(yield* store.promote("retry", [promotion], 99), 0)
          assert.strictEqual(yield* store.queueSize("q"), 1)
          assert.strictEqual(yield* store.setSize("retry"), 0)
        }),
      )

      test(
        "of a raw not in the set does nothing and returns 0",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("retry", [{ payload: "a", score: 10 }])
          const moved = yield* store.promote("retry", [{ raw: "other", payload: "x", queue: "q" }], 99)
          assert.strictEqual(moved, 0)
          assert.strictEqual(yield* store.queueSize("q"), 0)
          assert.deepStrictEqual(yield* store.queues, [])
          assert.deepStrictEqual(yield* store.setRange("retry", 0, -1), [{ payload: "a", score: 10 }])
          assert.strictEqual(yield* store.setSize("dead"), 0)
        }),
      )

      test(
        "with no queue sends the payload to dead at deadAt",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("schedule", [{ payload: "bad", score: 10 }])
          const moved = yield* store.promote(
            "schedule",
            [{ raw: "bad", payload: "bad-wrapped", queue: undefined }],
            77.5,
          )
          assert.strictEqual(moved, 1)
          assert.strictEqual(yield* store.setSize("schedule"), 0)
          assert.deepStrictEqual(yield* store.setRange("dead", 0, -1), [{ payload: "bad-wrapped", score: 77.5 }])
          assert.deepStrictEqual(yield* store.queues, [])
        }),
      )

      test(
        "moves members of the dead set back to a queue",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.kill("q", "n", "none", "d", 10, NoLimits)
          assert.strictEqual(yield* store.promote("dead", [{ raw: "d", payload: "d2", queue: "q" }], 99), 1)
          assert.strictEqual(yield* store.setSize("dead"), 0)
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["d2"])
        }),
      )
    })

    describe("Scheduler.promoteDue", () => {
      // What cannot run goes to dead through the runtime's one dead-letter path.
      const withDeadLetter = Effect.provide(
        DeadLetter.layer.pipe(Layer.provide(Layer.merge(Events.layer, Settings.layer()))),
      )
      test(
        "moves only due jobs to their queues and stamps enqueued_at",
        Effect.gen(function* () {
          const store = yield* Store
          const dueJob = job("due1", { queue: "qa" })
          const laterJob = job("later", { queue: "qa" })
          yield* store.addScheduled("schedule", [
            { payload: dueJob, score: 10 },
            { payload: laterJob, score: 1000 },
          ])
          const result = yield* Scheduler.promoteDue("schedule", 100_000)
          assert.strictEqual(result.moved, 1)
          assert.deepStrictEqual(result.malformed, [])
          assert.deepStrictEqual(yield* store.setRange("schedule", 0, -1), [{ payload: laterJob, score: 1000 }])
          const queued = yield* store.queueRange("qa", 0, -1)
          assert.strictEqual(queued.length, 1)
          const promoted = parse(queued[0] ?? "")
          assert.strictEqual(promoted.jid, "due1")
          assert.strictEqual(promoted.enqueued_at, 100)
          assert.deepStrictEqual(promoted.args, ["due1"])
        }).pipe(withDeadLetter),
      )

      test(
        "sends malformed due jobs to dead, wrapped, and still promotes the rest",
        Effect.gen(function* () {
          const store = yield* Store
          const notJson = '{"class": "Broken", "queue": "qa", '
          const noQueue = JSON.stringify({ class: "NoQueue", args: [], jid: "nq" })
          const good = job("good", { queue: "qa" })
          yield* store.addScheduled("retry", [
            { payload: notJson, score: 5 },
            { payload: noQueue, score: 6 },
            { payload: good, score: 7 },
          ])
          const result = yield* Scheduler.promoteDue("retry", 50_000)
          assert.strictEqual(result.moved, 3)
          assert.deepStrictEqual(result.malformed.map((m) => m.raw).sort(), [notJson, noQueue].sort())
          assert.strictEqual(yield* store.setSize("retry"), 0)

          const queued = yield* store.queueRange("qa", 0, -1)
          assert.deepStrictEqual(
            queued.map((raw) => parse(raw).jid),
            ["good"],
          )

          const dead = yield* store.setRange("dead", 0, -1)
          assert.strictEqual(dead.length, 2)
          const wrapped = dead.map(({ payload, score }) => ({ entry: parse(payload), score }))
          for (const { entry, score } of wrapped) {
            assert.strictEqual(entry.class, Job.MalformedClass)
            assert.strictEqual(entry.class, "Verk::MalformedJob")
            assert.strictEqual(score, 50)
            assert.isString(entry.error_message)
            assert.isAbove((entry.error_message as string).length, 0)
          }
          // the original text, byte for byte
          assert.deepStrictEqual(wrapped.map(({ entry }) => entry.payload).sort(), [notJson, noQueue].sort())

          // nothing is left to loop on
          const again = yield* Scheduler.promoteDue("retry", 50_000)
          assert.strictEqual(again.moved, 0)
          assert.strictEqual(yield* store.setSize("dead"), 2)
        }).pipe(withDeadLetter),
      )

      test(
        "promotes more than one batch of due jobs",
        Effect.gen(function* () {
          const store = yield* Store
          const count = Scheduler.PromoteBatchSize * 2 + 5
          const entries = Array.from({ length: count }, (_, i) => ({
            payload: job(`j${i}`, { queue: "bulk" }),
            score: i,
          }))
          yield* store.addScheduled("schedule", entries)
          const result = yield* Scheduler.promoteDue("schedule", count * 1000)
          assert.strictEqual(result.moved, count)
          assert.strictEqual(yield* store.queueSize("bulk"), count)
          assert.strictEqual(yield* store.setSize("schedule"), 0)
          // oldest due first: the next job to run is the one scheduled earliest
          assert.strictEqual(parse((yield* store.queueRange("bulk", -1, -1))[0] ?? "").jid, "j0")
        }).pipe(withDeadLetter),
      )
    })

    describe("paused queues", () => {
      test(
        "setPaused adds and removes, pausedQueues reads",
        Effect.gen(function* () {
          const store = yield* Store
          assert.deepStrictEqual([...(yield* store.pausedQueues)], [])
          yield* store.setPaused("a", true)
          yield* store.setPaused("b", true)
          yield* store.setPaused("b", true)
          assert.deepStrictEqual([...(yield* store.pausedQueues)].sort(), ["a", "b"])
          yield* store.setPaused("a", false)
          yield* store.setPaused("never", false)
          assert.deepStrictEqual([...(yield* store.pausedQueues)], ["b"])
        }),
      )
    })

    describe("stats", () => {
      test(
        "incrementStats adds to the totals and to the day",
        Effect.gen(function* () {
          const store = yield* Store
          assert.deepStrictEqual(yield* store.stats(), { processed: 0, failed: 0 })
          yield* store.incrementStats(3, 1, "2024-01-01")
          yield* store.incrementStats(2, 0, "2024-01-02")
          yield* store.incrementStats(1, 4, "2024-01-01")
          assert.deepStrictEqual(yield* store.stats(), { processed: 6, failed: 5 })
          assert.deepStrictEqual(yield* store.stats("2024-01-01"), { processed: 4, failed: 5 })
          assert.deepStrictEqual(yield* store.stats("2024-01-02"), { processed: 2, failed: 0 })
          assert.deepStrictEqual(yield* store.stats("2024-01-03"), { processed: 0, failed: 0 })
        }),
      )
    })

    describe("queues", () => {
      test(
        "queueRange has LRANGE semantics: index 0 is the newest",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b", "c", "d"])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, 0), ["d"])
          assert.deepStrictEqual(yield* store.queueRange("q", -1, -1), ["a"])
          assert.deepStrictEqual(yield* store.queueRange("q", 1, 2), ["c", "b"])
          assert.deepStrictEqual(yield* store.queueRange("q", -2, -1), ["b", "a"])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, 100), ["d", "c", "b", "a"])
          assert.deepStrictEqual(yield* store.queueRange("q", -100, 0), ["d"])
          assert.deepStrictEqual(yield* store.queueRange("q", 2, 1), [])
          assert.deepStrictEqual(yield* store.queueRange("q", 10, 20), [])
        }),
      )

      test(
        "an unknown queue is empty and not listed",
        Effect.gen(function* () {
          const store = yield* Store
          assert.strictEqual(yield* store.queueSize("nope"), 0)
          assert.deepStrictEqual(yield* store.queueRange("nope", 0, -1), [])
          assert.deepStrictEqual(yield* store.queues, [])
        }),
      )

      test(
        "deleteFromQueue removes one occurrence and says whether it found one",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["x", "y", "x"])
          assert.isTrue(yield* store.deleteFromQueue("q", "x"))
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["y", "x"])
          assert.isFalse(yield* store.deleteFromQueue("q", "zzz"))
          assert.isFalse(yield* store.deleteFromQueue("nope", "x"))
          assert.strictEqual(yield* store.queueSize("q"), 2)
        }),
      )

      test(
        "clearQueue empties the queue and forgets its name, leaving others",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("a", ["1", "2"])
          yield* store.enqueue("b", ["3"])
          yield* store.clearQueue("a")
          assert.strictEqual(yield* store.queueSize("a"), 0)
          assert.deepStrictEqual(yield* store.queueRange("a", 0, -1), [])
          assert.deepStrictEqual(yield* store.queues, ["b"])
          assert.deepStrictEqual(yield* store.queueRange("b", 0, -1), ["3"])
        }),
      )
    })

    describe("sorted sets", () => {
      test(
        "setRange orders by ascending score with ZRANGE index semantics",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("schedule", [
            { payload: "c", score: 3 },
            { payload: "a", score: 1 },
            { payload: "b", score: 2 },
          ])
          assert.strictEqual(yield* store.setSize("schedule"), 3)
          assert.deepStrictEqual(
            (yield* store.setRange("schedule", 0, -1)).map(({ payload }) => payload),
            ["a", "b", "c"],
          )
          assert.deepStrictEqual(yield* store.setRange("schedule", 0, 0), [{ payload: "a", score: 1 }])
          assert.deepStrictEqual(yield* store.setRange("schedule", -1, -1), [{ payload: "c", score: 3 }])
          assert.deepStrictEqual(
            (yield* store.setRange("schedule", 1, 10)).map(({ payload }) => payload),
            ["b", "c"],
          )
          assert.deepStrictEqual(yield* store.setRange("schedule", 2, 1), [])
        }),
      )

      test(
        "setRange orders equal scores by member",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("retry", [
            { payload: "m2", score: 5 },
            { payload: "m1", score: 5 },
            { payload: "m0", score: 6 },
          ])
          assert.deepStrictEqual(
            (yield* store.setRange("retry", 0, -1)).map(({ payload }) => payload),
            ["m1", "m2", "m0"],
          )
        }),
      )

      test(
        "deleteFromSet removes a member and says whether it was there",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("retry", [
            { payload: "a", score: 1 },
            { payload: "b", score: 2 },
          ])
          assert.isTrue(yield* store.deleteFromSet("retry", "a"))
          assert.isFalse(yield* store.deleteFromSet("retry", "a"))
          assert.isFalse(yield* store.deleteFromSet("schedule", "b"))
          assert.deepStrictEqual(yield* store.setRange("retry", 0, -1), [{ payload: "b", score: 2 }])
        }),
      )

      test(
        "clearSet empties only that set",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.addScheduled("retry", [{ payload: "a", score: 1 }])
          yield* store.addScheduled("schedule", [{ payload: "b", score: 2 }])
          yield* store.kill("q", "n", "none", "c", 3, NoLimits)
          yield* store.clearSet("retry")
          assert.strictEqual(yield* store.setSize("retry"), 0)
          assert.deepStrictEqual(yield* store.setRange("retry", 0, -1), [])
          assert.strictEqual(yield* store.setSize("schedule"), 1)
          assert.strictEqual(yield* store.setSize("dead"), 1)
          yield* store.clearSet("dead")
          assert.strictEqual(yield* store.setSize("dead"), 0)
          assert.strictEqual(yield* store.setSize("schedule"), 1)
        }),
      )
    })

    describe("notifications", () => {
      const work = (queue: string): Notification => ({ _tag: "Work", queue })
      const pause = (queue: string): Notification => ({ _tag: "Pause", queue })
      const scheduled: Notification = { _tag: "Scheduled" }

      liveTest(
        "enqueue publishes Work for its queue; an empty enqueue publishes nothing",
        Effect.gen(function* () {
          const store = yield* Store
          const { next, quiet } = yield* listen
          yield* store.enqueue("q1", ["a", "b"])
          yield* store.enqueue("q2", ["c"])
          assert.deepStrictEqual(yield* next(2), [work("q1"), work("q2")])
          yield* store.enqueue("q3", [])
          yield* quiet
        }),
      )

      liveTest(
        "addScheduled publishes Scheduled, for both sets",
        Effect.gen(function* () {
          const store = yield* Store
          const { next, quiet } = yield* listen
          yield* store.addScheduled("schedule", [{ payload: "s", score: 10 }])
          assert.deepStrictEqual(yield* next(1), [scheduled])
          yield* store.addScheduled("retry", [
            { payload: "r1", score: 10 },
            { payload: "r2", score: 20 },
          ])
          assert.deepStrictEqual(yield* next(1), [scheduled])
          yield* quiet
        }),
      )

      liveTest(
        "retry publishes Scheduled",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a"])
          yield* fetched(store, "q", "n", 1)
          const { next, quiet } = yield* listen
          yield* store.retry("q", "n", yield* tokenOf(store, "q", "n", "a"), "a-failed", 1234)
          assert.deepStrictEqual(yield* next(1), [scheduled])
          yield* quiet
        }),
      )

      liveTest(
        "promote publishes Work for each queue pushed to, and nothing for dead or missing members",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.kill("q", "n", "none", "d1", 5, NoLimits)
          yield* store.kill("q", "n", "none", "d2", 6, NoLimits)
          const { next, quiet } = yield* listen
          const moved = yield* store.promote(
            "dead",
            [
              { raw: "d1", payload: "p1", queue: "qa" },
              { raw: "d2", payload: "p2", queue: "qb" },
            ],
            99,
          )
          assert.strictEqual(moved, 2)
          assert.deepStrictEqual(sorted(yield* next(2)), [work("qa"), work("qb")])
          yield* quiet

          // to dead, or not in the set: no queue is pushed to, so nothing is published
          yield* store.kill("q", "n", "none", "d3", 7, NoLimits)
          const none = yield* store.promote(
            "dead",
            [
              { raw: "d3", payload: "p3", queue: undefined },
              { raw: "missing", payload: "p4", queue: "qc" },
            ],
            99,
          )
          assert.strictEqual(none, 1)
          yield* quiet
        }),
      )

      liveTest(
        "promote publishes Work for every queue it pushes to in one call",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.kill("q", "n", "none", "a1", 5, NoLimits)
          yield* store.kill("q", "n", "none", "a2", 6, NoLimits)
          yield* store.kill("q", "n", "none", "b1", 7, NoLimits)
          const { next } = yield* listen
          yield* store.promote(
            "dead",
            [
              { raw: "a1", payload: "a1", queue: "qa" },
              { raw: "a2", payload: "a2", queue: "qa" },
              { raw: "b1", payload: "b1", queue: "qb" },
            ],
            99,
          )
          // Redis publishes once per queue, MemoryStore once per job: both wake every queue.
          const got = [work("qa"), work("qb")]
          const seen = new Set<string>()
          while (seen.size < got.length) for (const notice of yield* next(1)) seen.add(show([notice]))
          assert.deepStrictEqual([...seen].sort(), got.map((notice) => show([notice])).sort())
        }),
      )

      liveTest(
        "requeueInProgress publishes Work when it moved jobs, and nothing when it moved none",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          yield* fetched(store, "q", "n", 2)
          const { next, quiet } = yield* listen
          assert.strictEqual(yield* store.requeueInProgress("q", "other-node"), 0)
          assert.strictEqual(yield* store.requeueInProgress("empty", "n"), 0)
          yield* quiet
          assert.strictEqual(yield* store.requeueInProgress("q", "n"), 2)
          assert.deepStrictEqual(yield* next(1), [work("q")])
          assert.strictEqual(yield* store.requeueInProgress("q", "n"), 0)
          yield* quiet
        }),
      )

      liveTest(
        "recoverBatch publishes Work when it requeued jobs, and nothing for an empty list or only poison pills",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a"])
          yield* fetched(store, "q", "dead", 1)
          const { next, quiet } = yield* listen
          assert.deepStrictEqual(yield* recoverRaws(store, "q", "other-node", 3), { taken: 0, poisoned: [] })
          assert.deepStrictEqual(yield* recoverRaws(store, "empty", "dead", 3), { taken: 0, poisoned: [] })
          yield* quiet
          assert.deepStrictEqual(yield* recoverRaws(store, "q", "dead", 3), { taken: 1, poisoned: [] })
          assert.deepStrictEqual(yield* next(1), [work("q")])
          yield* quiet
          // a is a suspect now: fetched alone, recovered again past the limit, it stays a pill
          assert.deepStrictEqual((yield* fetched(store, "q", "dead2", 10, true)).jobs, ["a"])
          assert.deepStrictEqual(yield* recoverRaws(store, "q", "dead2", 1), { taken: 1, poisoned: ["a"] })
          yield* quiet
        }),
      )

      liveTest(
        "requeueOrphans publishes Work when it moved jobs, and nothing when it moved none",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          yield* fetched(store, "q", "n", 2)
          const { next, quiet } = yield* listen
          const tokens = yield* tokensOf(store, "q", "n", ["a", "b"])
          assert.strictEqual(yield* store.requeueOrphans("q", "n", ["zzz"]), 0)
          assert.strictEqual(yield* store.requeueOrphans("q", "n", []), 0)
          assert.strictEqual(yield* store.requeueOrphans("q", "other-node", tokens), 0)
          yield* quiet
          assert.strictEqual(yield* store.requeueOrphans("q", "n", tokens), 2)
          assert.deepStrictEqual(yield* next(1), [work("q")])
          yield* quiet
        }),
      )

      liveTest(
        "heartbeat, blocked and isolated fetches, forgetRecovery and deregister publish nothing",
        Effect.gen(function* () {
          const store = yield* Store
          yield* recovered("q", ["s"])
          const { quiet } = yield* listen
          yield* store.heartbeat(beat("n", 60_000, Date.now()))
          assert.isTrue((yield* fetched(store, "q", "n", 10)).blocked)
          assert.isTrue((yield* fetched(store, "q", "n", 10, true)).isolated)
          yield* store.forgetRecovery("q", "s")
          yield* store.ack("q", "n", yield* tokensOf(store, "q", "n", ["s"]))
          assert.isTrue(yield* store.deregister("n"))
          yield* quiet
        }),
      )

      liveTest(
        "setPaused publishes Pause when pausing and when resuming",
        Effect.gen(function* () {
          const store = yield* Store
          const { next, quiet } = yield* listen
          yield* store.setPaused("q", true)
          assert.deepStrictEqual(yield* next(1), [pause("q")])
          yield* store.setPaused("q", false)
          assert.deepStrictEqual(yield* next(1), [pause("q")])
          yield* store.setPaused("other", true)
          assert.deepStrictEqual(yield* next(1), [pause("other")])
          yield* quiet
        }),
      )

      liveTest(
        "fetch, ack, kill and incrementStats publish nothing",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          const { quiet } = yield* listen
          yield* fetched(store, "q", "n", 2)
          yield* store.ack("q", "n", yield* tokensOf(store, "q", "n", ["a"]))
          yield* store.kill("q", "n", yield* tokenOf(store, "q", "n", "b"), "b-dead", 10, NoLimits)
          yield* store.incrementStats(1, 1, "2024-01-01")
          yield* quiet
        }),
      )

      liveTest(
        "notifications arrive in the order they were published",
        Effect.gen(function* () {
          const store = yield* Store
          const { next, quiet } = yield* listen
          yield* store.enqueue("q", ["a"])
          yield* store.setPaused("q", true)
          yield* fetched(store, "q", "n", 1)
          yield* store.retry("q", "n", yield* tokenOf(store, "q", "n", "a"), "a-failed", 10)
          yield* store.setPaused("q", false)
          yield* store.enqueue("r", ["b"])
          assert.deepStrictEqual(yield* next(5), [work("q"), pause("q"), scheduled, pause("q"), work("r")])
          yield* quiet
        }),
      )

      liveTest(
        "every running stream receives every notification",
        Effect.gen(function* () {
          const store = yield* Store
          const first = yield* listen
          const second = yield* listen
          yield* store.enqueue("q", ["a"])
          yield* store.setPaused("q", true)
          assert.deepStrictEqual(yield* first.next(2), [work("q"), pause("q")])
          assert.deepStrictEqual(yield* second.next(2), [work("q"), pause("q")])
        }),
      )
    })

    describe("Inspection", () => {
      test(
        "RetrySet.requeueNow moves the job to its queue, stamped",
        Effect.gen(function* () {
          const store = yield* Store
          const raw = job("r1", { queue: "qr", retry_count: 0 })
          const other = job("r2", { queue: "qr" })
          yield* store.addScheduled("retry", [
            { payload: raw, score: 50 },
            { payload: other, score: 60 },
          ])
          const before = yield* Clock.currentTimeMillis
          assert.isTrue(yield* Inspection.RetrySet.requeueNow("r1"))
          const after = yield* Clock.currentTimeMillis
          assert.deepStrictEqual(yield* store.setRange("retry", 0, -1), [{ payload: other, score: 60 }])
          const queued = yield* store.queueRange("qr", 0, -1)
          assert.strictEqual(queued.length, 1)
          const moved = parse(queued[0] ?? "")
          assert.strictEqual(moved.jid, "r1")
          assert.strictEqual(moved.retry_count, 0)
          assert.isNumber(moved.enqueued_at)
          const enqueuedAt = (moved.enqueued_at as number) * 1000
          assert.isTrue(
            enqueuedAt >= before && enqueuedAt <= after,
            `enqueued_at ${enqueuedAt} not in [${before}, ${after}]`,
          )
        }),
      )

      test(
        "RetrySet.requeueNow of a jid not in the set returns false and changes nothing",
        Effect.gen(function* () {
          const store = yield* Store
          const raw = job("r1", { queue: "qr" })
          yield* store.addScheduled("retry", [{ payload: raw, score: 50 }])
          assert.isFalse(yield* Inspection.RetrySet.requeueNow("missing"))
          assert.deepStrictEqual(yield* store.setRange("retry", 0, -1), [{ payload: raw, score: 50 }])
          assert.strictEqual(yield* store.queueSize("qr"), 0)
          assert.deepStrictEqual(yield* store.queues, [])
        }),
      )

      test(
        "Queue.find and Queue.delete work by jid",
        Effect.gen(function* () {
          const store = yield* Store
          const [j1, j2, j3] = [job("j1", { queue: "qf" }), job("j2", { queue: "qf" }), job("j3", { queue: "qf" })]
          yield* store.enqueue("qf", [j1, j2, j3])
          const found = yield* Inspection.Queue.find("qf", "j2")
          assert.isDefined(found)
          assert.strictEqual(found?.raw, j2)
          assert.isUndefined(yield* Inspection.Queue.find("qf", "nope"))
          assert.isTrue(yield* Inspection.Queue.delete("qf", "j2"))
          assert.isFalse(yield* Inspection.Queue.delete("qf", "j2"))
          assert.isUndefined(yield* Inspection.Queue.find("qf", "j2"))
          assert.deepStrictEqual(yield* store.queueRange("qf", 0, -1), [j3, j1])
        }),
      )

      test(
        "DeadSet.range shows malformed entries as failures, not hidden",
        Effect.gen(function* () {
          const store = yield* Store
          const good = job("g1")
          yield* store.kill("q", "n", "none", "not json at all", 10, NoLimits)
          yield* store.kill("q", "n", "none", good, 20, NoLimits)
          const entries = yield* Inspection.DeadSet.range()
          assert.strictEqual(entries.length, 2)
          const [bad, ok] = entries
          assert.strictEqual(bad?.raw, "not json at all")
          assert.strictEqual(bad?.score, 10)
          assert.isTrue(bad !== undefined && Result.isFailure(bad.job))
          assert.strictEqual(ok?.raw, good)
          assert.isTrue(ok !== undefined && Result.isSuccess(ok.job) && ok.job.success.jid === "g1")
        }),
      )
    })
  })
