/**
 * One queue's fetch loop: take as many jobs as there are free workers, in one round trip, and
 * hand each to the pool. An empty queue waits for a wake-up (our own pushes notify at once) or
 * the poll interval (for foreign pushes), so an idle queue costs one command per interval.
 */
import { Duration, Effect, Semaphore } from "effect"
import { Settings } from "./Config.ts"
import { Node } from "./Node.ts"
import { Store } from "./Store.ts"
import { WakeUp } from "./WakeUp.ts"

export type Phase = "active" | "pausing" | "paused"

/** The part of a queue's supervisor that the fetcher drives. */
export interface WorkerPool {
  readonly queue: string
  readonly concurrency: number
  readonly permits: Semaphore.Semaphore
  /** Runs one fetched job in the pool; its permit is released once `perform` has ended. */
  readonly start: (raw: string) => Effect.Effect<void>
  /** Returns when a job has released its permit. */
  readonly workerFreed: Effect.Effect<void>
  /** Returns once no job of the pool is running. */
  readonly awaitIdle: Effect.Effect<void>
  readonly phase: Effect.Effect<Phase>
  /** Moves to `phase`, announcing the change; staying in the same phase announces nothing. */
  readonly setPhase: (phase: Phase) => Effect.Effect<void>
}

/** After a store error the loop backs off this long before trying again. */
const ErrorBackoff = Duration.seconds(1)

export const run = Effect.fn("Fetcher.run")(function* (pool: WorkerPool) {
  const store = yield* Store
  const wakeUp = yield* WakeUp
  const node = (yield* Node).id
  const { pollInterval } = yield* Settings
  const signal = yield* wakeUp.forQueue(pool.queue)

  while (true) {
    if (yield* wakeUp.isPaused(pool.queue)) {
      if ((yield* pool.phase) !== "paused") {
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
    while (free < pool.concurrency && (yield* Semaphore.takeIfAvailable(pool.permits, 1))) free++
    if (free === 0) {
      yield* Effect.raceFirst(pool.workerFreed, signal.wait(pollInterval))
      continue
    }

    yield* signal.clear
    const fetched = yield* Effect.result(store.fetch(pool.queue, node, free))
    if (fetched._tag === "Failure") {
      yield* Semaphore.release(pool.permits, free)
      yield* Effect.logWarning(`Fetch from ${pool.queue} failed, retrying: ${fetched.failure.message}`)
      yield* Effect.sleep(ErrorBackoff)
      continue
    }
    const jobs = fetched.success
    if (jobs.length < free) yield* Semaphore.release(pool.permits, free - jobs.length)
    for (const raw of jobs) yield* pool.start(raw)
    if (jobs.length === 0) yield* signal.wait(pollInterval)
  }
})
