/**
 * The store conformance suite of the jobs role (`Store.JobStore`): a job's path and its recovery:
 * enqueue (with tokens, with payloads that are not UTF-8), addScheduled, fetch, ack, retry, kill,
 * requeueInProgress, fetch and recoverBatch with recovered jobs, requeueOrphans. Run on every store
 * kind by memoryStore.test.ts, redisStore.test.ts and the cluster's conformance test.
 */
import { assert, describe } from "@effect/vitest"
import { Effect } from "effect"
import * as Payload from "../../packages/core/src/Payload.ts"
import { JobStore, Store } from "../../packages/core/src/Store.ts"
import {
  fetched,
  held,
  listen,
  NoLimits,
  recovered,
  recoverRaws,
  roleSuite,
  tokenOf,
  tokensOf,
} from "./conformanceSupport.ts"

export const jobsConformance = roleSuite(
  "jobs",
  JobStore,
  [
    "enqueue",
    "addScheduled",
    "fetch",
    "ack",
    "retry",
    "kill",
    "requeueInProgress",
    "inProgress",
    "recoverBatch",
    "forgetRecovery",
    "requeueOrphans",
  ],
  ({ test, liveTest, options }) => {
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
            paused: false,
          })
          assert.strictEqual(yield* store.requeueOrphans("q", "n", yield* tokensOf(store, "q", "n", [notText])), 1)
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10), {
            jobs: [notText],
            isolated: false,
            blocked: false,
            paused: false,
          })
          assert.strictEqual(yield* store.requeueInProgress("q", "n"), 1)
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), [notText])
          yield* store.enqueue("q2", [badByte])
          assert.deepStrictEqual(
            yield* fetched(store, "q2", "n", 10),
            options.shardedByQueue
              ? { jobs: [badByte], isolated: false, blocked: false, paused: false }
              : { jobs: [], isolated: false, blocked: true, paused: false },
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

    describe("fetch of a paused queue", () => {
      test(
        "takes nothing and says the queue is paused; once resumed it takes the jobs",
        Effect.gen(function* () {
          const store = yield* Store
          yield* store.enqueue("q", ["a", "b"])
          yield* store.enqueue("other", ["c"])
          yield* store.setPaused("q", true)
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, true), {
            jobs: [],
            isolated: false,
            blocked: false,
            paused: true,
          })
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["b", "a"])
          assert.deepStrictEqual(yield* held(store, "q", "n"), [])
          assert.deepStrictEqual(yield* store.nodeQueues("n"), [])
          // Only that queue.
          assert.deepStrictEqual(yield* fetched(store, "other", "n", 10), {
            jobs: ["c"],
            isolated: false,
            blocked: false,
            paused: false,
          })
          yield* store.setPaused("q", false)
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10), {
            jobs: ["a", "b"],
            isolated: false,
            blocked: false,
            paused: false,
          })
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
            paused: false,
          })
          yield* store.enqueue("q", ["a", "b"])
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10), {
            jobs: ["a", "b"],
            isolated: false,
            blocked: false,
            paused: false,
          })
          yield* store.enqueue("q", ["c", "d"])
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, true), {
            jobs: ["c", "d"],
            isolated: false,
            blocked: false,
            paused: false,
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
            paused: false,
          })
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 1), {
            jobs: [],
            isolated: false,
            blocked: true,
            paused: false,
          })
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
            paused: false,
          })
          assert.deepStrictEqual(yield* held(store, "q", "n"), ["s"])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["b", "a"])
          assert.deepStrictEqual(yield* store.nodeQueues("n"), ["q"])
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, true), {
            jobs: ["a", "b"],
            isolated: false,
            blocked: false,
            paused: false,
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
            paused: false,
          })
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["c", "s"])
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, false), {
            jobs: [],
            isolated: false,
            blocked: true,
            paused: false,
          })
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, true), {
            jobs: ["s"],
            isolated: true,
            blocked: false,
            paused: false,
          })
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, false), {
            jobs: ["c"],
            isolated: false,
            blocked: false,
            paused: false,
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
            paused: false,
          })
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, false), {
            jobs: [],
            isolated: false,
            blocked: true,
            paused: false,
          })
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, true), {
            jobs: ["s2"],
            isolated: true,
            blocked: false,
            paused: false,
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
            paused: false,
          })
        }),
      )

      test(
        "with suspectFrom 2 a job recovered once is taken as any other, and one recovered twice alone",
        Effect.gen(function* () {
          const store = yield* Store
          yield* recovered("q", ["once"])
          yield* store.enqueue("q", ["a"])
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10, false, 2), {
            jobs: ["once", "a"],
            isolated: false,
            blocked: false,
            paused: false,
          })
          // Both die with node n: "once" comes back a second time (a suspect now), "a" a first time.
          assert.deepStrictEqual(yield* recoverRaws(store, "q", "n", 5), { taken: 2, poisoned: [] })
          yield* store.enqueue("q", ["b"])
          assert.deepStrictEqual(yield* store.queueRange("q", 0, -1), ["b", "a", "once"])
          assert.deepStrictEqual(yield* fetched(store, "q", "m", 10, false, 2), {
            jobs: [],
            isolated: false,
            blocked: true,
            paused: false,
          })
          assert.deepStrictEqual(yield* fetched(store, "q", "m", 10, true, 2), {
            jobs: ["once"],
            isolated: true,
            blocked: false,
            paused: false,
          })
          assert.deepStrictEqual(yield* fetched(store, "q", "m", 10, false, 2), {
            jobs: ["a", "b"],
            isolated: false,
            blocked: false,
            paused: false,
          })
          // The default counts one recovery: "a" would have been a suspect.
          yield* recovered("q2", ["c"])
          assert.deepStrictEqual(yield* fetched(store, "q2", "m", 10, false), {
            jobs: [],
            isolated: false,
            blocked: true,
            paused: false,
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
            paused: false,
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
          assert.deepStrictEqual(yield* fetched(store, "q", "n", 10), {
            jobs: ["b"],
            isolated: false,
            blocked: false,
            paused: false,
          })
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
  },
)
