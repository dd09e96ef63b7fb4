/**
 * What the Limits page's tests share: a node on a test store with a concurrency limit (`pdf`, 2
 * at once, its runs kept running) and a per-customer rate limit (`crm`, 5 a minute), returned once
 * the budgets are in use: 2 `pdf` slots held, a third `RenderPdf` job snoozed into `schedule`,
 * and `crm:acme` with 2 starts, `crm:globex` with 1.
 */
import { Deferred, Effect, Schema } from "effect"
import type { JobSnoozed } from "../../packages/core/src/Events.ts"
import * as Limits from "../../packages/core/src/Limits.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { is, startNode, type TestStore } from "../runtime/support.ts"

export const Pdf = Limits.concurrency({ name: "pdf", limit: 2, snooze: "1 hour" })
export const Crm = Limits.rate<readonly [string]>({
  name: "crm",
  limit: 5,
  per: "1 minute",
  key: ([customer]) => customer,
})

const Wait = { timeout: "10 seconds" } as const

/** A node whose limits are in use (see the module's comment); its `RenderPdf` runs wait for `done`. */
export const startLimitedNode = Effect.fnUntraced(function* (testStore: TestStore) {
  const done = yield* Deferred.make<void>()
  const RenderPdf = Worker.make({
    name: "RenderPdf",
    args: Schema.Tuple([Schema.Number]),
    limits: [Pdf],
    perform: () => Deferred.await(done),
  })
  const SyncCustomer = Worker.make({
    name: "SyncCustomer",
    args: Schema.Tuple([Schema.String]),
    limits: [Crm],
    perform: () => Effect.void,
  })
  const node = yield* startNode(
    testStore,
    { queues: { default: 5 }, pollInterval: "200 millis", shutdownTimeout: "200 millis" },
    [RenderPdf, SyncCustomer],
  )
  const pdfs = yield* node.client.enqueueMany(RenderPdf, [[1], [2], [3]])
  yield* node.events.await(
    is("JobStarted", (event) => event.className === "RenderPdf"),
    2,
    Wait,
  )
  const [snoozed] = yield* node.events.await<JobSnoozed>(is("JobSnoozed"), 1, Wait)
  const syncs = yield* node.client.enqueueMany(SyncCustomer, [["acme"], ["acme"], ["globex"]])
  yield* node.events.await(
    is("JobFinished", (event) => event.className === "SyncCustomer"),
    3,
    Wait,
  )
  // A job scheduled by a client: in `schedule` too, but never on its queue (no `enqueued_at`).
  const later = yield* node.client.schedule(SyncCustomer, ["later"], "1 hour")
  return {
    node,
    workers: [RenderPdf, SyncCustomer],
    snoozed: snoozed!,
    running: pdfs.map((job) => job.jid).filter((jid) => jid !== snoozed!.jid),
    syncs,
    later,
    release: Deferred.succeed(done, undefined),
  }
})
