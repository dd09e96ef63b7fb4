/**
 * One pool's fetch loop: reserve every free slot of the pool, take jobs for them from the pool's
 * queues (one round trip per queue asked), and start each under its lease (Pool.ts). The queues are
 * asked in the pool's order (strict), or in an order drawn by weight for every round (Sidekiq's
 * weighted queues: a queue comes first with a chance of its share of the weights); a queue that
 * comes up short leaves the remaining slots to the next. A paused queue is skipped, and reports
 * itself paused once its jobs are done. With nothing to take, the loop waits for a wake-up of any
 * of its queues: our own pushes notify at once, and WakeUp's poll (one round trip per interval for
 * all queues) signals foreign pushes. Each round is a scope: the slots it reserved and did not
 * lease, and its isolation claims, go back when it ends, however it ends; waits happen after,
 * holding nothing.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import { Settings } from "../Settings.ts"
import { JobStore } from "../Store.ts"
import { Isolation, suspectFrom } from "./Isolation.ts"
import * as Loop from "./Loop.ts"
import { Node } from "./Node.ts"
import type { Lane, Pool } from "./Pool.ts"
import * as Turn from "./Turn.ts"
import { type Signal, WakeUp } from "./WakeUp.ts"

/** An idle queue fetches again after this many poll intervals even without a signal. */
const IdlePolls = 10

/** The in-progress list is checked for jobs the pool does not run once every this many polls. */
const ReconcilePolls = 5

/** After a store error the loop backs off this long before trying again. */
const ErrorBackoff = Duration.seconds(1)

/** A queue of the pool as the loop feeds from it: its lane, its wake-up signal, its weight. */
interface Feed {
  readonly lane: Lane
  readonly signal: Signal
  readonly weight: number
}

/**
 * `feeds` in an order drawn by weight (Sidekiq's: each next queue is drawn from those left, with a
 * chance of its weight over theirs).
 */
export const weightedOrder = <A extends { readonly weight: number }>(
  feeds: ReadonlyArray<A>,
  random: () => number,
): ReadonlyArray<A> => {
  const left = [...feeds]
  const order: Array<A> = []
  let total = left.reduce((sum, feed) => sum + feed.weight, 0)
  while (left.length > 1) {
    let draw = random() * total
    let index = 0
    while (index < left.length - 1 && draw >= left[index]!.weight) draw -= left[index++]!.weight
    const [picked] = left.splice(index, 1)
    order.push(picked!)
    total -= picked!.weight
  }
  order.push(...left)
  return order
}

/** The fetch loop of `pool`'s queues (supervised, and restarted should it ever end). */
export const run = Effect.fn("Fetcher.run")(function* (
  pool: Pool,
  weights: ReadonlyArray<number> | undefined,
): Effect.fn.Return<never, never, JobStore | WakeUp | Node | Settings | Isolation | Scope.Scope> {
  const store = yield* JobStore
  const wakeUp = yield* WakeUp
  const node = (yield* Node).id
  const { pollInterval, maxRecoveries } = yield* Settings
  const isolation = yield* Isolation
  const random = yield* Random.Random
  const suspects = suspectFrom(maxRecoveries)
  const feeds: Array<Feed> = []
  for (const [index, lane] of pool.lanes.entries()) {
    feeds.push({ lane, signal: yield* wakeUp.forQueue(lane.queue), weight: weights?.[index] ?? 1 })
    yield* wakeUp.watch(lane.queue)
  }
  const [first] = feeds
  // Waits for a signal of any of the pool's queues (one queue: its own signal, nothing more).
  const signalled: (timeout: Duration.Input) => Effect.Effect<void> =
    feeds.length === 1 && first !== undefined
      ? first.signal.wait
      : (timeout) => Effect.raceAll(feeds.map((feed) => feed.signal.wait(timeout)))
  const order: (active: ReadonlyArray<Feed>) => ReadonlyArray<Feed> =
    weights === undefined ? (active) => active : (active) => weightedOrder(active, () => random.nextDoubleUnsafe())
  // Idle, the pool sleeps until signalled (our pushes, or WakeUp's poll for foreign ones); this
  // only bounds the sleep should a signal ever be missed.
  const idleWait = Duration.times(pollInterval, IdlePolls)
  const reconcileEvery = Duration.toMillis(Duration.times(pollInterval, ReconcilePolls))
  let reconcile = false
  let nextReconcile = (yield* Clock.currentTimeMillis) + reconcileEvery
  const backoff = Effect.sleep(ErrorBackoff)
  // One line when the store goes away, one when it is back: not one per try (Loop.outage).
  const outage = Loop.outage(`Fetch from ${pool.name}`)
  // Jobs read ahead stay in progress when the loop ends: shutdown puts them back, or `reconcile`.
  yield* Effect.addFinalizer(() => pool.dropAhead)

  /**
   * Moves each queue's phase along its pause state: a paused queue is "pausing" while the pool
   * holds jobs of it, then "paused". Returns the queues that may fetch, and a wait for the next job
   * to end when a queue is pausing (so that it reports itself paused then).
   */
  const phases = Effect.gen(function* () {
    const active: Array<Feed> = []
    let jobEnd: Effect.Effect<void> | undefined
    for (const feed of feeds) {
      const { lane } = feed
      if (!(yield* wakeUp.isPaused(lane.queue))) {
        yield* lane.setPhase("active")
        active.push(feed)
        continue
      }
      const phase = yield* lane.phase
      if (phase === "paused") continue
      if (phase === "active") {
        yield* isolation.withdraw(lane.queue)
        yield* lane.setPhase("pausing")
        // Jobs read ahead have not started: back to the queue (should that fail, `reconcile` will).
        const givenBack = yield* Effect.result(pool.giveBack(lane))
        if (givenBack._tag === "Failure") {
          yield* Effect.logWarning(`Could not put back the jobs read ahead of ${lane.queue}`, givenBack.failure)
        }
      }
      jobEnd ??= yield* pool.nextJobEnd
      if (pool.holding(lane) === 0) yield* lane.setPhase("paused")
    }
    return { active, jobEnd }
  })

  /** One round: returns what to wait for before the next, once its scope has given back what it held. */
  const round = (active: ReadonlyArray<Feed>) =>
    Effect.gen(function* () {
      // Take every free slot: one round fills them all. With every slot busy, wait for one to free
      // up, then for the end of the turn, so that every slot freed in it is taken by one round (jobs
      // that wait on I/O end one callback at a time); or for a signal (a pause is seen even then).
      const reservation = yield* pool.reserve
      if (reservation.count === 0) {
        return Effect.raceFirst(Effect.andThen(pool.slotFreed, Turn.end), signalled(pollInterval))
      }

      // A fetch can move jobs whose reply never arrives (a failed fetch that ran, or one ioredis
      // resent after a reconnect, so that it ran twice). Such jobs sit in progress, unseen, on a node
      // that stays alive: put back what the pool does not run, after a failure and every few polls.
      if (reconcile || (yield* Clock.currentTimeMillis) >= nextReconcile) {
        for (const { lane } of active) {
          const requeued = yield* Effect.result(pool.reconcile(lane))
          if (requeued._tag === "Failure") return yield* Effect.as(outage.failed(requeued.failure), backoff)
          if (requeued.success > 0) {
            yield* Effect.logWarning(
              `Put back ${requeued.success} jobs of ${lane.queue} taken by a fetch whose reply was lost`,
            )
          }
        }
        reconcile = false
        nextReconcile = (yield* Clock.currentTimeMillis) + reconcileEvery
      }

      let left = reservation.count
      let held = false
      let blockedSeen = false
      let pausedSeen = false
      let pauseUnseen = false
      for (const { lane, signal } of order(active)) {
        const claim = yield* isolation.claimFetch(lane.queue)
        if (claim.permission === "wait") {
          held = true
          continue
        }
        yield* signal.clear
        // A suspect must run alone at once: never read ahead.
        const isolate = claim.permission === "isolate" && reservation.slots > 0
        const fetched = yield* Effect.result(store.fetch(lane.queue, node, left, isolate, suspects))
        if (fetched._tag === "Failure") {
          yield* outage.failed(fetched.failure)
          reconcile = true
          return backoff
        }
        yield* outage.succeeded
        const { jobs, isolated, blocked, paused } = fetched.success
        if (paused) {
          // The store says the queue is paused before its notification reached us: read the pause
          // state now, so the loop stops it (QueuePausing, QueuePaused) without taking a job.
          yield* claim.end({ isolated: false, blocked: false })
          yield* wakeUp.refreshPaused
          if (yield* wakeUp.isPaused(lane.queue)) pausedSeen = true
          else pauseUnseen = true
          continue
        }
        yield* pool.start(reservation, lane, jobs, isolated)
        yield* claim.end({ isolated, blocked })
        left -= jobs.length
        // Full, or a suspect runs alone now: nothing more to take this round.
        if (left <= 0 || isolated) return Effect.void
        blockedSeen ||= blocked
      }
      // Short: the queues asked are empty (or stopped at a suspect). Asking again at once would
      // only find nothing, so wait for a signal (a push since a fetch was sent sets it) or for
      // the isolation to change; a queue found paused goes round at once to report it.
      if (pausedSeen) return Effect.void
      if (held) return Effect.raceFirst(isolation.changed(pollInterval), signalled(pollInterval))
      if (blockedSeen) return isolation.changed(pollInterval)
      return signalled(pauseUnseen ? pollInterval : idleWait)
    })

  while (true) {
    const { active, jobEnd } = yield* phases
    const next = active.length === 0 ? signalled(pollInterval) : yield* Effect.scoped(round(active))
    yield* jobEnd === undefined ? next : Effect.raceFirst(next, jobEnd)
  }
})
