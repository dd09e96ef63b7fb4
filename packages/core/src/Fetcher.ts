/**
 * One queue's fetch loop: take as many jobs as there are free workers, in one round trip, and
 * hand each to the pool. An empty queue waits for a wake-up: our own pushes notify at once, and
 * WakeUp's poll (one round trip per interval for all queues) signals foreign pushes.
 */
import { Clock, Duration, Effect, type Scope, Semaphore } from "effect"
import { Isolation } from "./Isolation.ts"
import { Node } from "./Node.ts"
import { Settings } from "./Settings.ts"
import { Store, type StoreError } from "./Store.ts"
import { WakeUp } from "./WakeUp.ts"

export type Phase = "active" | "pausing" | "paused"

/** The part of a queue's supervisor that the fetcher drives. */
export interface WorkerPool {
  readonly queue: string
  readonly concurrency: number
  readonly permits: Semaphore.Semaphore
  /**
   * Runs one fetched job in the pool; its permit is released once `perform` has ended. An
   * `isolated` job (back from a dead node) runs alone on the node, see Isolation.
   */
  readonly start: (raw: string, isolated: boolean) => Effect.Effect<void>
  /**
   * Puts back jobs in this node's in-progress list that the pool is not running (a fetch whose
   * reply was lost took them); returns how many.
   */
  readonly reconcile: Effect.Effect<number, StoreError>
  /** Returns when a job has released its permit. */
  readonly workerFreed: Effect.Effect<void>
  /** Returns once no job of the pool is running. */
  readonly awaitIdle: Effect.Effect<void>
  readonly phase: Effect.Effect<Phase>
  /** Moves to `phase`, announcing the change; staying in the same phase announces nothing. */
  readonly setPhase: (phase: Phase) => Effect.Effect<void>
}

/** An idle queue fetches again after this many poll intervals even without a signal. */
const IdlePolls = 10

/** The in-progress list is checked for jobs the pool does not run once every this many polls. */
const ReconcilePolls = 5

/** After a store error the loop backs off this long before trying again. */
const ErrorBackoff = Duration.seconds(1)

/** What a fetch loop holds at a given moment, so that ending it (a defect, shutdown) returns it. */
interface Held {
  /** Permits taken and not yet released or handed to a job. */
  permits: number
  /** A fetch claimed from Isolation and not yet ended. */
  fetching: boolean
}

/**
 * The fetch loop of `pool`'s queue. Should it end other than by design (it is supervised and
 * restarted), the permits and the isolation claim it held go back, so the restart starts clean.
 */
export const run = Effect.fn("Fetcher.run")(function* (pool: WorkerPool) {
  const isolation = yield* Isolation
  const held: Held = { permits: 0, fetching: false }
  return yield* loop(pool, held).pipe(
    Effect.ensuring(
      Effect.suspend(() =>
        Effect.all([
          held.permits > 0 ? Semaphore.release(pool.permits, held.permits) : Effect.void,
          held.fetching ? isolation.endFetch(pool.queue, undefined) : Effect.void,
          Effect.sync(() => {
            held.permits = 0
            held.fetching = false
          }),
        ]),
      ),
    ),
  )
})

const loop = Effect.fnUntraced(function* (
  pool: WorkerPool,
  held: Held,
): Effect.fn.Return<never, never, Store | WakeUp | Node | Settings | Isolation | Scope.Scope> {
  const store = yield* Store
  const wakeUp = yield* WakeUp
  const node = (yield* Node).id
  const { pollInterval } = yield* Settings
  const isolation = yield* Isolation
  const signal = yield* wakeUp.forQueue(pool.queue)
  yield* wakeUp.watch(pool.queue)
  // Idle, the queue sleeps until signalled (our pushes, or WakeUp's poll for foreign ones); this
  // only bounds the sleep should a signal ever be missed.
  const idleWait = Duration.times(pollInterval, IdlePolls)
  let reconcile = false
  const reconcileEvery = Duration.toMillis(Duration.times(pollInterval, ReconcilePolls))
  let nextReconcile = (yield* Clock.currentTimeMillis) + reconcileEvery

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

    // Take every free worker: one fetch fills them all. With every worker busy, wait for one to
    // free up, or for a signal (so that a pause is seen even then). These waits hold nothing, so
    // losing a race between them loses nothing.
    let free = 0
    while (free < pool.concurrency && (yield* Semaphore.takeIfAvailable(pool.permits, 1))) {
      free++
      held.permits++
    }
    const release = (count: number) =>
      Effect.suspend(() => {
        held.permits -= count
        return Semaphore.release(pool.permits, count)
      })
    if (free === 0) {
      yield* Effect.raceFirst(pool.workerFreed, signal.wait(pollInterval))
      continue
    }

    // A fetch can move jobs whose reply never arrives (a failed fetch that ran, or one ioredis
    // resent after a reconnect, so that it ran twice). Such jobs sit in progress, unseen, on a node
    // that stays alive: put back what the pool does not run, after a failure and every few polls.
    if (reconcile || (yield* Clock.currentTimeMillis) >= nextReconcile) {
      const requeued = yield* Effect.result(pool.reconcile)
      if (requeued._tag === "Failure") {
        yield* release(free)
        yield* Effect.sleep(ErrorBackoff)
        continue
      }
      reconcile = false
      nextReconcile = (yield* Clock.currentTimeMillis) + reconcileEvery
      if (requeued.success > 0) {
        yield* Effect.logWarning(
          `Put back ${requeued.success} jobs of ${pool.queue} taken by a fetch whose reply was lost`,
        )
      }
    }

    const permission = yield* isolation.beginFetch(pool.queue)
    if (permission === "wait") {
      yield* release(free)
      yield* Effect.raceFirst(isolation.changed(pollInterval), signal.wait(pollInterval))
      continue
    }
    held.fetching = true
    yield* signal.clear
    const fetched = yield* Effect.result(store.fetch(pool.queue, node, free, permission === "isolate"))
    if (fetched._tag === "Failure") {
      held.fetching = false
      yield* isolation.endFetch(pool.queue, undefined)
      yield* release(free)
      yield* Effect.logWarning(`Fetch from ${pool.queue} failed, retrying: ${fetched.failure.message}`)
      reconcile = true
      yield* Effect.sleep(ErrorBackoff)
      continue
    }
    const { jobs, isolated, blocked } = fetched.success
    if (jobs.length < free) yield* release(free - jobs.length)
    for (const raw of jobs) {
      yield* pool.start(raw, isolated)
      // The job holds its permit now, and releases it itself.
      held.permits--
    }
    held.fetching = false
    yield* isolation.endFetch(pool.queue, { isolated, blocked })
    if (jobs.length === 0) {
      yield* blocked ? isolation.changed(pollInterval) : signal.wait(idleWait)
    }
  }
})
