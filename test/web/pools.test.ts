/**
 * Acceptance: Verk Web shows each node's pools. `/api/nodes` lists them as the heartbeat writes
 * them; the Busy page shows a node's queues pool by pool: a queue of its own by name, a shared
 * pool with its order (`critical › default`) or weights (`reports ×3 + exports ×1`) and its slots.
 * A Sidekiq 8 process shows its capsules as pools; one that lists neither (Sidekiq before 8) shows
 * its queues as before.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { redisKind, storeOf, webHandler } from "./support.ts"

const nowSeconds = () => Date.now() / 1000

describe("Verk Web: pools", () => {
  it.live("api/nodes and the Busy page show each node's pools and their queues", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      const pools = [
        { name: "mail", queues: ["mail"], concurrency: 2 },
        { name: "urgent", queues: ["critical", "default"], concurrency: 25 },
        { name: "reports*3+exports", queues: ["reports", "exports"], weights: [3, 1], concurrency: 4 },
      ]
      const info = JSON.stringify({
        hostname: "box",
        pid: 42,
        queues: ["mail", "critical", "default", "reports", "exports"],
        pools,
        concurrency: 31,
        started_at: nowSeconds() - 100,
      })
      const beat = { ttlMillis: 60_000, now: Date.now(), busy: 0, work: [] }
      yield* store.heartbeat({ ...beat, node: "node-a", info })
      // A Sidekiq process lists no pools.
      yield* store.heartbeat({ ...beat, node: "sidekiq-b", info: JSON.stringify({ queues: ["low"], concurrency: 5 }) })
      // Sidekiq 8 lists capsules, with no top-level concurrency.
      const capsules = {
        default: { concurrency: 5, mode: "weighted", weights: { urgent: 2, bulk: 1 } },
        solo: { concurrency: 1, mode: "strict", weights: { solo: 0 } },
      }
      const sidekiq8 = JSON.stringify({
        queues: ["urgent", "bulk", "solo"],
        capsules,
        weights: [{ urgent: 2, bulk: 1 }],
      })
      yield* store.heartbeat({ ...beat, node: "sidekiq-c", info: sidekiq8 })
      const fetch = yield* webHandler(testStore)
      const nodes = (yield* Effect.promise(() =>
        Effect.runPromise(fetch("/api/nodes")).then((response) => response.json()),
      )) as Array<{ identity: string; pools: unknown; concurrency?: number }>
      const byId = new Map(nodes.map((node) => [node.identity, node.pools]))
      assert.deepStrictEqual(byId.get("node-a"), pools)
      assert.deepStrictEqual(byId.get("sidekiq-b"), [])
      assert.deepStrictEqual(byId.get("sidekiq-c"), [
        { name: "default", queues: ["urgent", "bulk"], weights: [2, 1], concurrency: 5 },
        { name: "solo", queues: ["solo"], concurrency: 1 },
      ])
      assert.strictEqual(nodes.find((node) => node.identity === "sidekiq-c")?.concurrency, 6, "its capsules' slots")

      const busy = yield* Effect.promise(() => Effect.runPromise(fetch("/busy")).then((response) => response.text()))
      assert.include(
        busy,
        '<span data-pool title="pool urgent: 25 slots, strict order"><bdi>critical</bdi> › <bdi>default</bdi> <span class="muted">(25 slots)</span></span>',
      )
      assert.include(
        busy,
        '<span data-pool title="pool reports*3+exports: 4 slots, by weight"><bdi>reports</bdi> ×3 + <bdi>exports</bdi> ×1 <span class="muted">(4 slots)</span></span>',
      )
      assert.include(busy, "<td><bdi>mail</bdi>, <span data-pool")
      assert.include(busy, "<td><bdi>low</bdi></td>")
      assert.include(
        busy,
        '<span data-pool title="pool default: 5 slots, by weight"><bdi>urgent</bdi> ×2 + <bdi>bulk</bdi> ×1 <span class="muted">(5 slots)</span></span>',
      )
    }),
  )
})
