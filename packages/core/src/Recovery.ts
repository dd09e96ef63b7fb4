/**
 * Recovering dead nodes. Any live node that finds a registered node without a fresh heartbeat puts
 * that node's in-progress jobs back at the front of their queues, in atomic batches (several
 * nodes doing it at once duplicate nothing), and then forgets the node. A job that keeps coming
 * back from dead nodes is a poison pill: past the limit it goes to dead with a message saying so,
 * instead of killing node after node.
 */
import { Clock, Effect } from "effect"
import { Settings } from "./Config.ts"
import { Events, JobDead, NodeRecovered } from "./Events.ts"
import * as Job from "./Job.ts"
import { Node } from "./Node.ts"
import { Store } from "./Store.ts"

const poisonEntry = (raw: string, queue: string, recoveries: number, nowMillis: number) => {
  const reason = `Poison pill: the job came back from dead nodes more than ${recoveries} times`
  const decoded = Effect.runSync(Effect.result(Job.decode(raw)))
  if (decoded._tag === "Failure") return { payload: Job.malformedDeadEntry(raw, queue, reason, nowMillis), reason }
  const job = Job.recordFailure(decoded.success, { errorClass: "PoisonPill", message: reason }, nowMillis)
  return { payload: Job.encode(job), reason, jid: job.jid, className: job.class }
}

/** Recovers one dead node; returns how many jobs went back to their queues. */
export const recoverNode = Effect.fn("Recovery.recoverNode")(function* (dead: string) {
  const store = yield* Store
  const events = yield* Events
  const { maxRecoveries } = yield* Settings
  let requeued = 0
  for (const queue of yield* store.nodeQueues(dead)) {
    const nowMillis = yield* Clock.currentTimeMillis
    const now = Job.toEpochSeconds(nowMillis)
    const result = yield* store.recoverInProgress(queue, dead, { maxRecoveries, now })
    requeued += result.requeued
    for (const raw of result.poisoned) {
      const entry = poisonEntry(raw, queue, maxRecoveries, nowMillis)
      // The raw payload is already in dead: annotating it replaces it only if it is still there.
      yield* store.promote("dead", [{ raw, payload: entry.payload, queue: undefined }], now)
      yield* events.publish(new JobDead({ queue, jid: entry.jid, className: entry.className, reason: entry.reason }))
      yield* Effect.logWarning(entry.reason).pipe(Effect.annotateLogs({ queue, jid: entry.jid ?? "-" }))
    }
  }
  yield* store.deregister(dead)
  yield* events.publish(new NodeRecovered({ node: dead, jobs: requeued }))
  yield* Effect.logInfo(`Recovered dead node ${dead}: ${requeued} jobs back in their queues`)
  return requeued
})

/** Looks once for dead nodes and recovers each. */
export const sweep = Effect.fn("Recovery.sweep")(function* () {
  const store = yield* Store
  const self = (yield* Node).id
  const now = yield* Clock.currentTimeMillis
  for (const node of yield* store.nodes) {
    if (node === self) continue
    if (!(yield* store.isAlive(node, now))) yield* recoverNode(node)
  }
})
