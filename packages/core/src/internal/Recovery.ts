/**
 * Recovering dead nodes. Any live node that finds a registered node without a fresh heartbeat puts
 * that node's in-progress jobs back at the front of their queues, in atomic batches (several
 * nodes doing it at once duplicate nothing), and then forgets the node. A job that keeps coming
 * back from dead nodes is a poison pill: past the limit it goes to dead with a message saying so,
 * instead of killing node after node. The slots the node held in concurrency limits (Limits.ts)
 * are freed with it, before it is forgotten (and before `NodeRecovered` is published).
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { Events, NodeRecovered } from "../Events.ts"
import { Settings } from "../Settings.ts"
import { JobStore, LimitStore, NodeStore } from "../Store.ts"
import { DeadLetter } from "./DeadLetter.ts"
import * as Loop from "./Loop.ts"
import { Node } from "./Node.ts"

/** Recovers one dead node; returns how many jobs went back to their queues. */
export const recoverNode = Effect.fn("Recovery.recoverNode")(function* (dead: string) {
  const jobs = yield* JobStore
  const nodes = yield* NodeStore
  const events = yield* Events
  const deadLetter = yield* DeadLetter
  const { maxRecoveries } = yield* Settings
  let requeued = 0
  for (const queue of yield* nodes.nodeQueues(dead)) {
    // Until a batch comes back empty: another node may be recovering the same list.
    while (true) {
      const batch = yield* jobs.recoverBatch(queue, dead, maxRecoveries)
      requeued += batch.taken - batch.poisoned.length
      // Poison pills wait in the dead node's entries: each moves to dead, with its reason, atomically.
      for (const { token, raw } of batch.poisoned) {
        const reason = `Poison pill: the job came back from dead nodes more than ${maxRecoveries} times`
        yield* deadLetter.bury({
          from: { _tag: "InProgress", queue, node: dead, token },
          raw,
          queue,
          failure: { errorClass: "PoisonPill", message: reason },
          reason,
        })
        yield* jobs.forgetRecovery(queue, raw)
      }
      if (batch.taken === 0) break
    }
  }
  // Its slots of concurrency limits are free once its jobs are back: the node is known dead.
  const freed = yield* (yield* LimitStore).releaseNodeHolds(dead)
  const forgotten = yield* nodes.deregister(dead)
  yield* events.publish(new NodeRecovered({ node: dead, jobs: requeued }))
  yield* Effect.logInfo(
    forgotten
      ? `Recovered dead node ${dead}: ${requeued} jobs back in their queues${freed > 0 ? `, ${freed} limit slots freed` : ""}`
      : `Recovered ${requeued} jobs of node ${dead}, which took more meanwhile: it stays registered`,
  )
  return requeued
})

/** One look for dead nodes (see `sweep`). */
const sweepOnce = Effect.fn("Recovery.sweep")(function* (trusted: Effect.Effect<boolean>) {
  const store = yield* NodeStore
  const self = (yield* Node).id
  for (const node of yield* store.nodes) {
    if (node === self) continue
    const now = yield* Clock.currentTimeMillis
    if (!(yield* store.isAlive(node, now)) && (yield* trusted)) yield* recoverNode(node)
  }
})

/**
 * Looks once for dead nodes and recovers each. `trusted` is asked right before each recovery,
 * after the store said the node is dead: it says whether this node's view is fresh enough to
 * believe that (see Verk: not right after an outage). Store failures are the sweep's own to report:
 * one line when the store goes away, one when it is back, whatever the number of sweeps between
 * (Loop.outage); the next sweep tries again.
 */
export const sweep = (
  trusted: Effect.Effect<boolean>,
): Effect.Effect<
  void,
  // Typed as a sweep that may fail (it does not): callers may still catch, as they did.
  Effect.Error<ReturnType<typeof sweepOnce>>,
  Effect.Services<ReturnType<typeof sweepOnce>>
> => {
  const outage = Loop.outage("Recovery sweep")
  return sweepOnce(trusted).pipe(Effect.andThen(outage.succeeded), Effect.catch(outage.failed))
}
