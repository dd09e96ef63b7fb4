/**
 * One queue's fetch loop: reserve every free slot of the pool, take that many jobs in one round
 * trip, and start each under its lease (Pool.ts). An empty queue waits for a wake-up: our own
 * pushes notify at once, and WakeUp's poll (one round trip per interval for all queues) signals
 * foreign pushes. Each round is a scope: the slots it reserved and did not lease, and its
 * isolation claim, go back when it ends, however it ends; waits happen after, holding nothing.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { Settings } from "../Settings.ts"
import { JobStore } from "../Store.ts"
import { Isolation, suspectFrom } from "./Isolation.ts"
import * as Loop from "./Loop.ts"
import { Node } from "./Node.ts"
import type { Pool } from "./Pool.ts"
import * as Turn from "./Turn.ts"
import { WakeUp } from "./WakeUp.ts"

/** An idle queue fetches again after this many poll intervals even without a signal. */
const IdlePolls = 10

/** The in-progress list is checked for jobs the pool does not run once every this many polls. */
const ReconcilePolls = 5

/** After a store error the loop backs off this long before trying again. */
const ErrorBackoff = Duration.seconds(1)

/** The fetch loop of `pool`'s queue (supervised, and restarted should it ever end). */
export const run = Effect.fn("Fetcher.run")(function* (
  pool: Pool,
): Effect.fn.Return<never, never, JobStore | WakeUp | Node | Settings | Isolation | Scope.Scope> {
  const store = yield* JobStore
  const wakeUp = yield* WakeUp
  const node = (yield* Node).id
  const { pollInterval, maxRecoveries } = yield* Settings
  const isolation = yield* Isolation
  const suspects = suspectFrom(maxRecoveries)
  const signal = yield* wakeUp.forQueue(pool.queue)
  yield* wakeUp.watch(pool.queue)
  // Idle, the queue sleeps until signalled (our pushes, or WakeUp's poll for foreign ones); this
  // only bounds the sleep should a signal ever be missed.
  const idleWait = Duration.times(pollInterval, IdlePolls)
  const reconcileEvery = Duration.toMillis(Duration.times(pollInterval, ReconcilePolls))
  let reconcile = false
  let nextReconcile = (yield* Clock.currentTimeMillis) + reconcileEvery
  const backoff = Effect.sleep(ErrorBackoff)
  // One line when the store goes away, one when it is back: not one per try (Loop.outage).
  const outage = Loop.outage(`Fetch from ${pool.queue}`)

  /** One round: returns what to wait for before the next, once its scope has given back what it held. */
  const round = Effect.gen(function* () {
    // Take every free slot: one fetch fills them all. With every slot busy, wait for one to free
    // up, then for the end of the turn, so that every slot freed in it is taken by one fetch (jobs
    // that wait on I/O end one callback at a time); or for a signal (a pause is seen even then).
    const reservation = yield* pool.reserve
    if (reservation.count === 0) {
      return Effect.raceFirst(Effect.andThen(pool.slotFreed, Turn.end), signal.wait(pollInterval))
    }

    // A fetch can move jobs whose reply never arrives (a failed fetch that ran, or one ioredis
    // resent after a reconnect, so that it ran twice). Such jobs sit in progress, unseen, on a node
    // that stays alive: put back what the pool does not run, after a failure and every few polls.
    if (reconcile || (yield* Clock.currentTimeMillis) >= nextReconcile) {
      const requeued = yield* Effect.result(pool.reconcile)
      if (requeued._tag === "Failure") return yield* Effect.as(outage.failed(requeued.failure), backoff)
      reconcile = false
      nextReconcile = (yield* Clock.currentTimeMillis) + reconcileEvery
      if (requeued.success > 0) {
        yield* Effect.logWarning(
          `Put back ${requeued.success} jobs of ${pool.queue} taken by a fetch whose reply was lost`,
        )
      }
    }

    const claim = yield* isolation.claimFetch(pool.queue)
    if (claim.permission === "wait") {
      return Effect.raceFirst(isolation.changed(pollInterval), signal.wait(pollInterval))
    }
    yield* signal.clear
    const fetched = yield* Effect.result(
      store.fetch(pool.queue, node, reservation.count, claim.permission === "isolate", suspects),
    )
    if (fetched._tag === "Failure") {
      yield* outage.failed(fetched.failure)
      reconcile = true
      return backoff
    }
    yield* outage.succeeded
    const { jobs, isolated, blocked, paused } = fetched.success
    if (paused) {
      // The store says the queue is paused before its notification reached us: read the pause
      // state now, so the loop stops (and emits QueuePausing, QueuePaused) without taking a job.
      yield* claim.end({ isolated: false, blocked: false })
      yield* wakeUp.refreshPaused
      return (yield* wakeUp.isPaused(pool.queue)) ? Effect.void : signal.wait(pollInterval)
    }
    yield* pool.start(reservation, jobs, isolated)
    yield* claim.end({ isolated, blocked })
    // A full fetch may have left more; a short one emptied the queue (or stopped at a suspect):
    // asking again at once would only find nothing, so wait for a signal (a push since the fetch
    // was sent sets it) or for the isolation to change.
    if (jobs.length >= reservation.count || isolated) return Effect.void
    return blocked ? isolation.changed(pollInterval) : signal.wait(idleWait)
  })

  while (true) {
    if (yield* wakeUp.isPaused(pool.queue)) {
      if ((yield* pool.phase) !== "paused") {
        yield* isolation.withdraw(pool.queue)
        yield* pool.setPhase("pausing")
        yield* pool.awaitIdle
        yield* pool.setPhase("paused")
      }
      yield* signal.wait(pollInterval)
      continue
    }
    yield* pool.setPhase("active")
    yield* yield* Effect.scoped(round)
  }
})
