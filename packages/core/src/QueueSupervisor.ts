/**
 * One queue on this node: a Semaphore-bounded pool of job fibers fed by the queue's fetcher, its
 * live status and counts, and its graceful end. Closing its scope stops fetching, gives running
 * jobs `shutdownTimeout` to finish, interrupts the rest, and puts every job left in this node's
 * in-progress list back at the front of the queue.
 */
import { Clock, Effect, Fiber, FiberSet, Metric, Queue, Ref, Semaphore } from "effect"
import { Settings } from "./Config.ts"
import { Events, QueuePaused, QueuePausing, QueueRunning } from "./Events.ts"
import * as Fetcher from "./Fetcher.ts"
import type { RunningJob } from "./Heartbeat.ts"
import { Node } from "./Node.ts"
import { Processor } from "./Processor.ts"
import * as Stats from "./Stats.ts"
import { Store } from "./Store.ts"

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
  readonly running: Effect.Effect<ReadonlyArray<RunningJob>>
  /** Whether the fetch loop is still going (for health checks). */
  readonly fetching: Effect.Effect<boolean>
}

export const supervise = Effect.fn("QueueSupervisor.supervise")(function* (queue: string, concurrency: number) {
  const store = yield* Store
  const events = yield* Events
  const processor = yield* Processor
  const node = yield* Node
  const { shutdownTimeout } = yield* Settings

  const permits = yield* Semaphore.make(concurrency)
  const fibers = yield* FiberSet.make<void, never>()
  const phase = yield* Ref.make<Fetcher.Phase>("active")
  const finished = yield* Ref.make(0)
  const failed = yield* Ref.make(0)
  const freed = yield* Queue.sliding<void>(1)
  const running = new Map<number, RunningJob>()
  let nextId = 0
  const busyGauge = Metric.withAttributes(Stats.busyWorkers, { queue })
  const updateBusy = Effect.suspend(() => Metric.update(busyGauge, running.size))

  const announce: Record<Fetcher.Phase, QueueRunning | QueuePausing | QueuePaused> = {
    active: new QueueRunning({ queue }),
    pausing: new QueuePausing({ queue }),
    paused: new QueuePaused({ queue }),
  }
  const pool: Fetcher.WorkerPool = {
    queue,
    concurrency,
    permits,
    phase: Ref.get(phase),
    setPhase: (next) =>
      Ref.getAndSet(phase, next).pipe(
        Effect.flatMap((previous) => (previous === next ? Effect.void : events.publish(announce[next]))),
      ),
    awaitIdle: FiberSet.awaitEmpty(fibers),
    start: (raw) =>
      Effect.suspend(() => {
        const id = nextId++
        let released = false
        // Once perform ends the worker is free: the next fetch overlaps this job's outcome write.
        const release = Effect.suspend(() => {
          if (released) return Effect.void
          released = true
          return Semaphore.release(permits, 1).pipe(Effect.andThen(Queue.offer(freed, undefined)), Effect.asVoid)
        })
        return Effect.acquireUseRelease(
          Clock.currentTimeMillis.pipe(
            Effect.map((startedMillis) => running.set(id, { queue, raw, startedMillis })),
            Effect.andThen(updateBusy),
          ),
          () => processor.process(queue, raw, release),
          () => Effect.sync(() => running.delete(id)).pipe(Effect.andThen(updateBusy), Effect.andThen(release)),
        )
      }).pipe(
        Effect.tap((outcome) =>
          outcome === "finished"
            ? Ref.update(finished, (n) => n + 1)
            : outcome === "retried" || outcome === "dead"
              ? Ref.update(failed, (n) => n + 1)
              : Effect.void,
        ),
        FiberSet.run(fibers),
        Effect.asVoid,
      ),
    workerFreed: Queue.take(freed),
  }

  // A fixed node id may have left jobs in progress in an earlier life: they go back first.
  if (node.fixed) {
    const requeued = yield* Effect.orElseSucceed(store.requeueInProgress(queue, node.id), () => 0)
    if (requeued > 0) yield* Effect.logInfo(`Requeued ${requeued} jobs left in progress by ${node.id} in ${queue}`)
  }

  const fetcher = yield* Effect.forkScoped(Fetcher.run(pool))
  yield* Effect.addFinalizer(() =>
    Effect.gen(function* () {
      yield* Fiber.interrupt(fetcher)
      yield* Effect.raceFirst(FiberSet.awaitEmpty(fibers), Effect.sleep(shutdownTimeout))
      yield* FiberSet.clear(fibers)
      const requeued = yield* Effect.orElseSucceed(store.requeueInProgress(queue, node.id), () => -1)
      if (requeued !== 0) yield* Effect.logInfo(`Queue ${queue} stopped; requeued ${requeued} unfinished jobs`)
    }),
  )
  yield* events.publish(announce.active)

  const handle: QueueHandle = {
    stats: Effect.gen(function* () {
      const running = yield* FiberSet.size(fibers)
      const current = yield* Ref.get(phase)
      return {
        queue,
        status: current === "active" ? (running > 0 ? "running" : "idle") : current,
        concurrency,
        running,
        finished: yield* Ref.get(finished),
        failed: yield* Ref.get(failed),
      } satisfies QueueStats
    }),
    running: Effect.sync(() => [...running.values()]),
    fetching: Effect.sync(() => fetcher.pollUnsafe() === undefined),
  }
  return handle
})
