/**
 * Verk Web's limits through the JSON API and the Limits page, on every store kind, with a node whose
 * limits are in use: `GET /api/limits` lists each budget (a rate budget's starts; a concurrency
 * budget's holders with node, queue, token and the job they run), against the declared limit and
 * window when the dashboard is given the limits; the page shows them, and the Scheduled page marks
 * the snoozed job (and not a job a client scheduled).
 */
import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Store from "../../packages/core/src/Store.ts"
import type { LimitView } from "../../packages/node/src/AdminLimits.ts"
import * as Web from "../../packages/node/src/web/Web.ts"
import { forEachStore, quietLogs } from "../runtime/support.ts"
import { startLimitedNode } from "./limitsSupport.ts"
import { redisKind, webHandler } from "./support.ts"

const json = (response: Response) => Effect.promise(() => response.json() as Promise<unknown>)
const text = (response: Response) => Effect.promise(() => response.text())

forEachStore((kind) =>
  it.live("the limits in use: listed by the API with their holders, against their limits; the pages show them", () =>
    Effect.gen(function* () {
      const testStore = yield* kind.open
      const bare = yield* webHandler(testStore)
      assert.deepStrictEqual(yield* Effect.flatMap(bare("/api/limits"), json), [])
      assert.include(yield* Effect.flatMap(bare("/limits"), text), "No rate limit has starts in its window.")

      const started = yield* startLimitedNode(testStore)
      const nodeId = started.node.verk.nodeId
      // The limits as an application gives them: from its workers.
      const fetch = yield* webHandler(testStore, { limits: Web.limitsOf(started.workers) })

      // Without the limits: the use only.
      const usage = (yield* Effect.flatMap(bare("/api/limits"), json)) as ReadonlyArray<LimitView>
      assert.deepStrictEqual(
        usage.map(({ kind, budget, used, limit }) => ({ kind, budget, used, limit })),
        [
          { kind: "concurrency", budget: "pdf", used: 2, limit: undefined },
          { kind: "rate", budget: "crm:acme", used: 2, limit: undefined },
          { kind: "rate", budget: "crm:globex", used: 1, limit: undefined },
        ],
      )
      const response = yield* fetch("/api/limits")
      assert.strictEqual(response.status, 200)
      const [pdf, acme, globex] = (yield* json(response)) as ReadonlyArray<LimitView>
      assert.deepInclude(pdf, { kind: "concurrency", budget: "pdf", name: "pdf", used: 2, limit: 2 })
      assert.isUndefined(pdf?.windowMillis)
      assert.deepStrictEqual(pdf?.nodes, [nodeId, nodeId])
      assert.deepStrictEqual(
        [...(pdf?.holders ?? [])]
          .map(({ node, queue, jid, class: name }) => ({ node, queue, jid, class: name }))
          .sort((a, b) => (a.jid ?? "").localeCompare(b.jid ?? "")),
        [...started.running].sort().map((jid) => ({ node: nodeId, queue: "default", jid, class: "RenderPdf" })),
      )
      for (const holder of pdf?.holders ?? []) assert.match(holder.token ?? "", /^\d+$/)
      assert.deepStrictEqual(acme, {
        kind: "rate",
        budget: "crm:acme",
        name: "crm",
        used: 2,
        limit: 5,
        windowMillis: 60_000,
        nodes: [],
        holders: [],
      })
      assert.deepInclude(globex, { budget: "crm:globex", used: 1, limit: 5 })

      const page = yield* Effect.flatMap(fetch("/limits"), text)
      assert.include(page, '<a href="/limits" class="on">Limits</a>')
      assert.match(page, /<tr data-budget="crm:acme">.*data-used="2"><meter min="0" max="5" value="2"/)
      assert.include(page, '<td data-label="per" data-window>1 min</td>')
      assert.match(page, /<tr data-budget="pdf">.*<td class="num over" data-label="running" data-used="2">/)
      for (const jid of started.running)
        assert.include(page, `<span class="mono"><bdi>${jid}</bdi></span> <bdi>RenderPdf</bdi>`)
      assert.notInclude(page, "give Verk Web the limits of your workers")
      assert.include(yield* Effect.flatMap(bare("/limits"), text), "give Verk Web the limits of your workers")

      // The snoozed job is marked on the Scheduled page; the job a client scheduled is not.
      const scheduled = yield* Effect.flatMap(fetch("/scheduled"), text)
      const rowOf = (jid: string) =>
        scheduled.slice(scheduled.indexOf(`<tr data-jid="${jid}">`)).split("</tr>")[0] ?? ""
      assert.include(rowOf(started.snoozed.jid), "data-snoozed")
      assert.include(rowOf(started.later.jid), "<tr data-jid=")
      assert.notInclude(rowOf(started.later.jid), "data-snoozed")
      yield* started.release
    }).pipe(Effect.scoped, quietLogs),
  ),
)

it.live("a store that cannot list its limits (a Redis Cluster) is a 503 with its reason, on the API and the page", () =>
  Effect.gen(function* () {
    const testStore = yield* redisKind.open
    // The Redis store's own refusal on a Redis Cluster, on a store that is otherwise this one.
    const refusing: Store.StoreShape = {
      ...testStore.store,
      limitUsage: Effect.fail(
        new Store.StoreError({
          operation: "limitUsage",
          cause: new Error("listing limits needs one Redis: on a Redis Cluster the keys are spread over its shards"),
        }),
      ),
    }
    const fetch = yield* webHandler({ ...testStore, store: refusing, context: Store.context(refusing) })
    const api = yield* fetch("/api/limits")
    assert.strictEqual(api.status, 503)
    assert.include(((yield* json(api)) as { message: string }).message, "on a Redis Cluster")
    const page = yield* fetch("/limits")
    assert.strictEqual(page.status, 503)
    const body = yield* text(page)
    assert.include(body, "<h1>Limits</h1>")
    assert.match(body, /data-unavailable>[^<]*on a Redis Cluster/)
    // The other pages are not touched by it.
    assert.strictEqual((yield* fetch("/scheduled")).status, 200)
  }).pipe(Effect.scoped, quietLogs),
)
