/**
 * Acceptance: a running job's progress reports (`CurrentJob.progress`) reach the busy list
 * (Inspection.processes, from Sidekiq's work entries) with the last value, and are events.
 */
import { assert, it } from "@effect/vitest"
import { Deferred, Effect, Schema } from "effect"
import * as CurrentJob from "../../packages/core/src/CurrentJob.ts"
import * as Inspection from "../../packages/core/src/Inspection.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { eventually, forEachStore, forJid, is, quietLogs, type StoreKind, startNode } from "./support.ts"

const config = { pollInterval: "200 millis", shutdownTimeout: "200 millis", heartbeatInterval: "10 seconds" } as const

const progress = (kind: StoreKind) => {
  it.live("a job reporting 10 steps shows its last report in the busy list, and each as an event", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const release = yield* Deferred.make<void>()
      const Steps = Worker.make({
        name: "Steps",
        args: Schema.Tuple([Schema.Number]),
        perform: ([steps]) =>
          Effect.gen(function* () {
            for (let step = 1; step <= steps; step++) yield* CurrentJob.progress((step / steps) * 100, `step ${step}`)
            yield* Deferred.await(release)
          }),
      })
      const node = yield* startNode(store, { ...config, queues: { default: 2 } }, [Steps])
      const { jid } = yield* node.client.enqueue(Steps, [10])
      const reports = yield* node.events.await(
        is("JobProgress", (event) => event.jid === jid),
        10,
      )
      assert.deepStrictEqual(
        reports.map((event) => [event.percent, event.message]),
        Array.from({ length: 10 }, (_, i) => [(i + 1) * 10, `step ${i + 1}`]),
      )
      const busy = Inspection.processes.pipe(
        Effect.provideContext(store.context),
        Effect.map((nodes) => nodes.flatMap((entry) => entry.work).find((work) => work.jid === jid)),
      )
      // Written within a progress interval of the last report, long before the next heartbeat.
      yield* eventually(
        "the last report is in the busy list",
        Effect.map(busy, (work) => work?.progress?.percent === 100),
      )
      const work = yield* busy
      assert.deepStrictEqual(work?.progress, { percent: 100, message: "step 10" })
      assert.strictEqual(work?.class, "Steps")
      yield* Deferred.succeed(release, undefined)
      yield* node.events.await(forJid("JobFinished", jid))
    }).pipe(Effect.scoped, quietLogs),
  )
}

forEachStore(progress)
