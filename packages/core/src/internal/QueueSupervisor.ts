/**
 * One queue on this node: its pool (Pool.ts) fed by its fetcher (Fetcher.ts), each job run by the
 * Processor under a lease that writes its outcome (Lease.ts); the queue's live status and counts,
 * and its graceful end. Closing its scope stops fetching, gives running jobs `shutdownTimeout` to
 * finish (less once `Shutdown.stopNow` has run), interrupts the rest, and puts every job left in this node's in-progress list back at the
 * front of the queue.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import { Events, QueueRunning } from "../Events.ts"
import { Settings } from "../Settings.ts"
import { Shutdown } from "../Shutdown.ts"
import { JobStore } from "../Store.ts"
import * as Acker from "./Acker.ts"
import { DeadLetter } from "./DeadLetter.ts"
import * as Fetcher from "./Fetcher.ts"
import { Isolation } from "./Isolation.ts"
import * as Lease from "./Lease.ts"
import * as Loop from "./Loop.ts"
import { Node } from "./Node.ts"
import * as Pool from "./Pool.ts"
import { Processor } from "./Processor.ts"

export type QueueStatus = "running" | "idle" | "pausing" | "paused"

/** Verk's `QueueStats`: one queue as this node sees it. */
export interface QueueStats {
  readonly queue: string
  readonly status: QueueStatus
  readonly concurrency: number
  readonly running: number
  readonly finished: number
  readonly failed: number
}

export interface QueueHandle {
  readonly stats: Effect.Effect<QueueStats>
  /** The jobs running now, for the heartbeat's Sidekiq `work` entries. */
  readonly running: Effect.Effect<ReadonlyArray<Lease.Running>>
  /** Whether the fetch loop is still going (for health checks). */
  readonly fetching: Effect.Effect<boolean>
}

export const supervise = Effect.fn("QueueSupervisor.supervise")(function* (queue: string, concurrency: number) {
  const store = yield* JobStore
  const events = yield* Events
  const processor = yield* Processor
  const isolation = yield* Isolation
  const node = yield* Node
  const deadLetter = yield* DeadLetter
  const { shutdownTimeout } = yield* Settings
  const { stoppingNow } = yield* Shutdown

  const writer = Lease.writer({ queue, node: node.id, store, deadLetter, ack: yield* Acker.make(store, node.id) })
  const pool = yield* Pool.make({ queue, concurrency, writer, process: processor.process })

  // A fixed node id may have left jobs in progress in an earlier life: they go back first.
  if (node.fixed) {
    const requeued = yield* Effect.orElseSucceed(store.requeueInProgress(queue, node.id), () => 0)
    if (requeued > 0) yield* Effect.logInfo(`Requeued ${requeued} jobs left in progress by ${node.id} in ${queue}`)
  }

  const fetcher = yield* Loop.forkScoped(`fetch ${queue}`, Fetcher.run(pool))
  yield* Effect.addFinalizer(() =>
    Effect.gen(function* () {
      yield* Fiber.interrupt(fetcher.fiber)
      yield* isolation.withdraw(queue)
      // Running jobs get `shutdownTimeout`, or less when told to stop now (Shutdown.ts).
      yield* Effect.raceAll([FiberSet.awaitEmpty(pool.fibers), Effect.sleep(shutdownTimeout), stoppingNow])
      yield* FiberSet.clear(pool.fibers)
      const requeued = yield* Effect.orElseSucceed(store.requeueInProgress(queue, node.id), () => -1)
      if (requeued !== 0) yield* Effect.logInfo(`Queue ${queue} stopped; requeued ${requeued} unfinished jobs`)
    }),
  )
  yield* events.publish(new QueueRunning({ queue }))

  const handle: QueueHandle = {
    stats: Effect.gen(function* () {
      const running = yield* FiberSet.size(pool.fibers)
      const current = yield* pool.phase
      return {
        queue,
        status: current === "active" ? (running > 0 ? "running" : "idle") : current,
        concurrency,
        running,
        finished: pool.outcomes.finished,
        failed: pool.outcomes.failed,
      } satisfies QueueStats
    }),
    running: pool.running,
    fetching: fetcher.alive,
  }
  return handle
})
