/**
 * A node whose heartbeat is gone is recovered by a live node: its in-progress jobs run again, it
 * is deregistered, and a NodeRecovered event carries its id and the job count. Both stores.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Worker from "../../packages/core/src/Worker.ts"
import { forEachStore, is, quietLogs, type StoreKind, startNode } from "./support.ts"

const recovery = (kind: StoreKind) => {
  it.live("a live node recovers a dead node's jobs and announces it", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const ran: Array<number> = []
      const Work = Worker.make({
        name: "Work",
        args: Schema.Tuple([Schema.Int]),
        perform: ([n]) => Effect.sync(() => ran.push(n)),
      })
      // A "ghost" node took three jobs and died: registered, jobs in progress, no heartbeat.
      const payloads = [1, 2, 3].map((n) =>
        JSON.stringify({ class: "Work", queue: "default", args: [n], jid: `ghost-${n}`, retry: true }),
      )
      yield* store.store.enqueue("default", payloads)
      assert.lengthOf((yield* store.store.fetch("default", "ghost", 3)).jobs, 3)
      assert.include(yield* store.store.nodes, "ghost")

      const node = yield* startNode(
        store,
        { queues: { default: 2 }, heartbeatInterval: "100 millis", pollInterval: "200 millis" },
        [Work],
      )
      const [recovered] = yield* node.events.await(is("NodeRecovered"), 1, { timeout: "5 seconds" })
      assert.deepInclude(recovered, { node: "ghost", jobs: 3 })
      yield* node.events.await(is("JobFinished"), 3, { timeout: "5 seconds" })
      assert.sameMembers(ran, [1, 2, 3])
      assert.notInclude(yield* store.store.nodes, "ghost")
      assert.deepStrictEqual(yield* store.store.inProgress("default", "ghost"), [])
    }).pipe(quietLogs),
  )
}

forEachStore(recovery)
