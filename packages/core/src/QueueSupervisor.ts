/**
 * One queue on this node: a Semaphore-bounded pool of job fibers fed by the queue's fetcher, its
 * live status and counts, and its graceful end. Closing its scope stops fetching, gives running
 * jobs `shutdownTimeout` to finish, interrupts the rest, and puts every job left in this node's
 * in-progress list back at the front of the queue.
 */
import { Clock, Effect, Fiber, FiberSet, Metric, Queue, Ref, Semaphore } from "effect"
import { Events, QueuePaused, QueuePausing, QueueRunning } from "./Events.ts"
import * as Fetcher from "./Fetcher.ts"
import type { RunningJob } from "./Heartbeat.ts"
import { Isolation } from "./Isolation.ts"
import * as Loop from "./Loop.ts"
import { Node } from "./Node.ts"
import { Processor } from "./Processor.ts"
import { Settings } from "./Settings.ts"
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
  const isolation = yield* Isolation
  const node = yield* Node
  const { shutdownTimeout } = yield* Settings

  const permits = yield* Semaphore.make(concurrency)
  const fibers = yield* FiberSet.make<void, never>()
  const phase = yield* Ref.make<Fetcher.Phase>("active")
  const finished = yield* Ref.make(0)
  const failed = yield* Ref.make(0)
  const freed = yield* Queue.sliding<void>(1)
  const running = new Map<number, RunningJob>()
  /** Raw payload → how many of this pool's jobs carry it, from fetch until their outcome is written. */
  const tracked = new Map<string, number>()
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
    start: (raw, isolated) =>
      Effect.gen(function* () {
        const id = nextId++
        let released = false
        // Counted before the job's fiber runs: the fetch loop's next steps (reconcile, isolation)
        // must see it. Tracked until its outcome is written, so reconcile never takes it for an orphan.
        tracked.set(raw, (tracked.get(raw) ?? 0) + 1)
        yield* isolation.jobStarted(isolated)
        // Once perform ends the worker is free: the next fetch overlaps this job's outcome write.
        const release = Effect.suspend(() => {
          if (released) return Effect.void
          released = true
          return Semaphore.release(permits, 1).pipe(
            Effect.andThen(Queue.offer(freed, undefined)),
            Effect.andThen(isolation.jobEnded(isolated)),
          )
        })
        const untrack = Effect.sync(() => {
          const left = (tracked.get(raw) ?? 1) - 1
          if (left === 0) tracked.delete(raw)
          else tracked.set(raw, left)
        })
        const job = Effect.acquireUseRelease(
          Clock.currentTimeMillis.pipe(
            Effect.map((startedMillis) => running.set(id, { queue, raw, startedMillis })),
            Effect.andThen(updateBusy),
          ),
          () => processor.process(queue, raw, release),
          () => Effect.sync(() => running.delete(id)).pipe(Effect.andThen(updateBusy), Effect.andThen(release)),
        ).pipe(
          Effect.tap((outcome) =>
            // A suspect that ran alone and got its outcome is a suspect no more.
            isolated && outcome !== "interrupted" && outcome !== "unrecorded"
              ? Effect.catch(store.forgetRecovery(raw), (error) =>
                  Effect.logWarning(`Could not clear the recovery count of a job: ${error.message}`),
                )
              : Effect.void,
          ),
          Effect.tap((outcome) =>
            outcome === "finished"
              ? Ref.update(finished, (n) => n + 1)
              : outcome === "retried" || outcome === "dead"
                ? Ref.update(failed, (n) => n + 1)
                : Effect.void,
          ),
          Effect.ensuring(untrack),
        )
        yield* FiberSet.run(fibers, job)
      }),
    reconcile: Effect.gen(function* () {
      const unclaimed = new Map(tracked)
      const orphans: Array<string> = []
      for (const raw of yield* store.inProgress(queue, node.id)) {
        const claims = unclaimed.get(raw) ?? 0
        if (claims > 0) unclaimed.set(raw, claims - 1)
        else orphans.push(raw)
      }
      return yield* store.requeueOrphans(queue, node.id, orphans)
    }),
    workerFreed: Queue.take(freed),
  }

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
    fetching: fetcher.alive,
  }
  return handle
})
