/**
 * The store conformance suite of the nodes role (`Store.NodeStore`): the node registry: heartbeats,
 * liveness, processes, the queues a node took from, deregister. Run on every store kind by
 * memoryStore.test.ts, redisStore.test.ts and the cluster's conformance test.
 */
import { assert, describe } from "@effect/vitest"
import { Effect } from "effect"

import { NodeStore, Store } from "../../packages/core/src/Store.ts"
import { beat, fetched, held, recoverRaws, roleSuite, tokensOf } from "./conformanceSupport.ts"

export const nodesConformance = roleSuite(
  "nodes",
  NodeStore,
  ["heartbeat", "nodes", "processes", "isAlive", "nodeQueues", "deregister"],
  ({ test, liveTest }) => {
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
          yield* store.heartbeat({ ...beat("n2", 60_000, now), info: '{"pid":2}', busy: 1, rss: 2048, work })
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
          // Sidekiq's rss (KB) as written; none when the beat gave none.
          assert.deepStrictEqual(
            processes.map((entry) => entry.rss || undefined),
            [undefined, 2048],
          )
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
  },
)
