/**
 * One pool on this node and its queues (one, or several sharing its slots): the pool (Pool.ts) fed
 * by its fetcher (Fetcher.ts), each job run by the Processor under a lease that writes its outcome
 * (Lease.ts, one writer per queue: in-progress lists are per queue); the queues' live status and
 * counts, and the pool's graceful end. Closing its scope stops fetching, gives running jobs
 * `shutdownTimeout` to finish (less once `Shutdown.stopNow` has run), interrupts the rest, and puts
 * every job left in this node's in-progress lists back at the front of their queues.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import { Events, QueueRunning } from "../Events.ts"
import { type PoolSetting, Settings } from "../Settings.ts"
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
  /** The pool serving the queue (a queue of its own: the queue's name). */
  readonly pool: string
  readonly status: QueueStatus
  /** The slots of the queue's pool (shared with its other queues). */
  readonly concurrency: number
  readonly running: number
  readonly finished: number
  readonly failed: number
}

/** One pool as this node sees it. */
export interface PoolStats {
  readonly pool: string
  /** Its queues, in its strict order or in the order of its setting (weighted). */
  readonly queues: ReadonlyArray<string>
  /** Each queue's weight, in `queues`' order; undefined when the order is strict. */
  readonly weights: ReadonlyArray<number> | undefined
  readonly concurrency: number
  readonly running: number
}

export interface PoolHandle {
  readonly setting: PoolSetting
  readonly stats: Effect.Effect<ReadonlyArray<QueueStats>>
  readonly poolStats: Effect.Effect<PoolStats>
  /** The jobs running now, for the heartbeat's Sidekiq `work` entries. */
  readonly running: Effect.Effect<ReadonlyArray<Lease.Running>>
  /** Whether the fetch loop is still going (for health checks). */
  readonly fetching: Effect.Effect<boolean>
}

export const supervise = Effect.fn("QueueSupervisor.supervise")(function* (setting: PoolSetting) {
  const store = yield* JobStore
  const events = yield* Events
  const processor = yield* Processor
  const isolation = yield* Isolation
  const node = yield* Node
  const deadLetter = yield* DeadLetter
  const { shutdownTimeout } = yield* Settings
  const { stoppingNow } = yield* Shutdown
  const { name, queues, concurrency } = setting

  const ack = yield* Acker.make(store, node.id)
  const pool = yield* Pool.make({
    name,
    concurrency,
    queues: queues.map((queue) => ({
      queue,
      writer: Lease.writer({ queue, node: node.id, store, deadLetter, ack }),
    })),
    process: processor.process,
  })

  // A fixed node id may have left jobs in progress in an earlier life: they go back first.
  if (node.fixed) {
    for (const queue of queues) {
      const requeued = yield* Effect.orElseSucceed(store.requeueInProgress(queue, node.id), () => 0)
      if (requeued > 0) yield* Effect.logInfo(`Requeued ${requeued} jobs left in progress by ${node.id} in ${queue}`)
    }
  }

  const fetcher = yield* Loop.forkScoped(`fetch ${name}`, Fetcher.run(pool, setting.weights))
  yield* Effect.addFinalizer(() =>
    Effect.gen(function* () {
      yield* Fiber.interrupt(fetcher.fiber)
      for (const queue of queues) yield* isolation.withdraw(queue)
      // Running jobs get `shutdownTimeout`, or less when told to stop now (Shutdown.ts).
      yield* Effect.raceAll([FiberSet.awaitEmpty(pool.fibers), Effect.sleep(shutdownTimeout), stoppingNow])
      yield* FiberSet.clear(pool.fibers)
      for (const queue of queues) {
        const requeued = yield* Effect.orElseSucceed(store.requeueInProgress(queue, node.id), () => -1)
        if (requeued !== 0) yield* Effect.logInfo(`Queue ${queue} stopped; requeued ${requeued} unfinished jobs`)
      }
    }),
  )
  for (const queue of queues) yield* events.publish(new QueueRunning({ queue }))

  const handle: PoolHandle = {
    setting,
    stats: Effect.forEach(pool.lanes, (lane) =>
      Effect.map(lane.phase, (current): QueueStats => {
        const running = pool.holding(lane)
        return {
          queue: lane.queue,
          pool: name,
          status: current === "active" ? (running > 0 ? "running" : "idle") : current,
          concurrency,
          running,
          finished: lane.outcomes.finished,
          failed: lane.outcomes.failed,
        }
      }),
    ),
    poolStats: Effect.map(FiberSet.size(pool.fibers), (running) => ({
      pool: name,
      queues,
      weights: setting.weights,
      concurrency,
      running,
    })),
    running: pool.running,
    fetching: fetcher.alive,
  }
  return handle
})
