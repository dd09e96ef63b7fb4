/**
 * Acceptance: Verk Web shows each node's pools. `/api/nodes` lists them as the heartbeat writes
 * them; the Busy page shows a node's queues pool by pool: a queue of its own by name, a shared
 * pool with its order (`critical › default`) or weights (`reports ×3 + exports ×1`) and its slots.
 * A node that lists no pools (Sidekiq's own) shows its queues as before.
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
      const fetch = yield* webHandler(testStore)
      const nodes = (yield* Effect.promise(() =>
        Effect.runPromise(fetch("/api/nodes")).then((response) => response.json()),
      )) as Array<{ identity: string; pools: unknown }>
      const byId = new Map(nodes.map((node) => [node.identity, node.pools]))
      assert.deepStrictEqual(byId.get("node-a"), pools)
      assert.deepStrictEqual(byId.get("sidekiq-b"), [])

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
    }),
  )
})
