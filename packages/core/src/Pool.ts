/**
 * One queue's pool of workers on this node: `concurrency` permits, the jobs it holds, and what its
 * fetch loop asks of it. A fetch first reserves every free worker (a scope that returns the permits
 * no job took); each fetched job is then a Lease, owned by a scope of its own that the job's fiber
 * closes, whatever happens: closing it returns the job's permit and its isolation claim, and stops
 * counting its payload as ours (see `reconcile`). Its worker is freed as soon as `perform` ends,
 * so the next fetch overlaps the outcome write; the lease itself lasts until the outcome is written.
 */
import { Clock, Effect, FiberSet, Metric, Queue, Ref, Scope, Semaphore } from "effect"
import { Events, QueuePaused, QueuePausing, QueueRunning } from "./Events.ts"
import { Isolation } from "./Isolation.ts"
import { Node } from "./Node.ts"
import * as Stats from "./Stats.ts"
import { Store, type StoreError } from "./Store.ts"

export type Phase = "active" | "pausing" | "paused"

/** A job running on this node, as Sidekiq's `<identity>:work` shows it. */
export interface RunningJob {
  readonly queue: string
  readonly raw: string
  readonly startedMillis: number
}

/** A fetched job, held from fetch until its outcome is written. */
export interface Lease extends RunningJob {
  /** A job back from a dead node, running alone (see Isolation). */
  readonly isolated: boolean
  /** Frees the job's worker (its permit, its isolation claim) once `perform` has ended; idempotent. */
  readonly free: Effect.Effect<void>
}

/** The workers reserved for one fetch. */
export interface Reservation {
  readonly count: number
}

export interface WorkerPool {
  readonly queue: string
  readonly concurrency: number
  /** Reserves every free worker (maybe none) for one fetch; the scope returns those no job took. */
  readonly reserve: Effect.Effect<Reservation, never, Scope.Scope>
  /**
   * Runs a fetched job under a lease that takes one of `reservation`'s workers; `process` gets the
   * lease and the job's fiber closes it at the end.
   */
  readonly start: (reservation: Reservation, raw: string, isolated: boolean) => Effect.Effect<void>
  /**
   * Puts back jobs in this node's in-progress list that the pool holds no lease for (a fetch whose
   * reply was lost took them); returns how many.
   */
  readonly reconcile: Effect.Effect<number, StoreError>
  /** Returns when a job has freed its worker. */
  readonly workerFreed: Effect.Effect<void>
  /** Returns once no job of the pool is running. */
  readonly awaitIdle: Effect.Effect<void>
  readonly phase: Effect.Effect<Phase>
  /** Moves to `phase`, announcing the change; staying in the same phase announces nothing. */
  readonly setPhase: (phase: Phase) => Effect.Effect<void>
  /** The leases held now. */
  readonly running: Effect.Effect<ReadonlyArray<RunningJob>>
  /** Jobs whose fibers run (for stats); the fibers, interrupted and awaited at shutdown. */
  readonly fibers: FiberSet.FiberSet<void, never>
}

/** Permits of a reservation, and how many a lease has taken over. */
interface Held extends Reservation {
  leased: number
}

export const make = Effect.fnUntraced(function* (
  queue: string,
  concurrency: number,
  process: (lease: Lease) => Effect.Effect<void>,
) {
  const store = yield* Store
  const events = yield* Events
  const isolation = yield* Isolation
  const node = (yield* Node).id
  const permits = yield* Semaphore.make(concurrency)
  const fibers = yield* FiberSet.make<void, never>()
  const phase = yield* Ref.make<Phase>("active")
  const freed = yield* Queue.sliding<void>(1)
  const leases = new Set<Lease>()
  /** Raw payload → how many leases carry it: reconcile never takes a leased job for an orphan. */
  const tracked = new Map<string, number>()
  const busyGauge = Metric.withAttributes(Stats.busyWorkers, { queue })
  // Against the pool's context, not the job fiber's (see Stats): this runs twice for every job.
  const context = yield* Effect.context<never>()
  const updateBusy = Effect.sync(() => busyGauge.updateUnsafe(leases.size, context))
  const announce: Record<Phase, QueueRunning | QueuePausing | QueuePaused> = {
    active: new QueueRunning({ queue }),
    pausing: new QueuePausing({ queue }),
    paused: new QueuePaused({ queue }),
  }

  const reserve = Effect.acquireRelease(
    Effect.gen(function* () {
      let count = 0
      while (count < concurrency && (yield* Semaphore.takeIfAvailable(permits, 1))) count++
      return { count, leased: 0 } as Held
    }),
    (held) => (held.count > held.leased ? Semaphore.release(permits, held.count - held.leased) : Effect.void),
  )

  /** Frees a lease's worker: its permit, and its isolation claim. */
  const freeWorker = (isolated: boolean) =>
    Semaphore.release(permits, 1).pipe(
      Effect.andThen(Queue.offer(freed, undefined)),
      Effect.andThen(isolation.jobEnded(isolated)),
    )

  /**
   * Leases a fetched job into a scope of its own: one of `held`'s permits, an isolation claim, a
   * claim on its payload. The scope's one finalizer frees what `free` has not, then the rest. (Plain
   * steps inside one Effect: this runs for every job.)
   */
  const acquireLease = (held: Held, raw: string, isolated: boolean) =>
    Effect.withFiber((fiber) => {
      held.leased++
      // Counted before the job's fiber runs: the fetch loop's next steps (reconcile, isolation) see it.
      tracked.set(raw, (tracked.get(raw) ?? 0) + 1)
      let working = true
      const free = Effect.suspend(() => {
        if (!working) return Effect.void
        working = false
        return freeWorker(isolated)
      })
      const startedMillis = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
      const lease: Lease = { queue, raw, isolated, startedMillis, free }
      leases.add(lease)
      busyGauge.updateUnsafe(leases.size, context)
      const scope = Scope.makeUnsafe()
      const release = Effect.suspend(() => {
        leases.delete(lease)
        const left = (tracked.get(raw) ?? 1) - 1
        if (left === 0) tracked.delete(raw)
        else tracked.set(raw, left)
        return Effect.andThen(free, updateBusy)
      })
      return Effect.as(Effect.andThen(isolation.jobStarted(isolated), Scope.addFinalizer(scope, release)), {
        lease,
        scope,
      })
    })

  const pool: WorkerPool = {
    queue,
    concurrency,
    reserve,
    start: (reservation, raw, isolated) =>
      Effect.uninterruptible(
        Effect.flatMap(acquireLease(reservation as Held, raw, isolated), ({ lease, scope }) =>
          FiberSet.run(
            fibers,
            Effect.onExit(process(lease), (exit) => Scope.close(scope, exit)),
          ),
        ),
      ),
    reconcile: Effect.gen(function* () {
      const unclaimed = new Map(tracked)
      const orphans: Array<string> = []
      for (const raw of yield* store.inProgress(queue, node)) {
        const claims = unclaimed.get(raw) ?? 0
        if (claims > 0) unclaimed.set(raw, claims - 1)
        else orphans.push(raw)
      }
      return yield* store.requeueOrphans(queue, node, orphans)
    }),
    workerFreed: Queue.take(freed),
    awaitIdle: FiberSet.awaitEmpty(fibers),
    phase: Ref.get(phase),
    setPhase: (next) =>
      Ref.getAndSet(phase, next).pipe(
        Effect.flatMap((previous) => (previous === next ? Effect.void : events.publish(announce[next]))),
      ),
    running: Effect.sync(() => [...leases].map(({ queue, raw, startedMillis }) => ({ queue, raw, startedMillis }))),
    fibers,
  }
  return pool
})
