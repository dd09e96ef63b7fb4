/**
 * One pool on this node: `concurrency` slots shared by its queues (one queue, or several: each a
 * `Lane`), the jobs it holds, and what its fetch loop asks of it. Pause is per queue: each lane has
 * its own phase, and the loop asks whether a lane still holds jobs. A fetch first reserves every free slot (a scope that returns the slots no job took);
 * each fetched job is then a Lease (Lease.ts), which the job's fiber releases when it ends,
 * whatever happens: releasing frees the job's slot and its isolation claim, and stops counting its
 * payload as ours (see `reconcile`). Its slot is freed as soon as `perform` ends, so the next fetch
 * overlaps the outcome write; the lease itself lasts until the outcome is written.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type { Progress } from "../CurrentJob.ts"
import { Events, QueuePaused, QueuePausing, QueueRunning } from "../Events.ts"
import * as Stats from "../Stats.ts"
import { type InProgressJob, JobStore, type StoreError } from "../Store.ts"
import type { Buried } from "./DeadLetter.ts"
import { Isolation } from "./Isolation.ts"
import type { Outcome } from "./JobRun.ts"
import type * as Lease from "./Lease.ts"
import { Node } from "./Node.ts"

export type Phase = "active" | "pausing" | "paused"

/** The slots reserved for one fetch. */
export interface Reservation {
  readonly count: number
}

/** One queue of a pool: its pause phase and how its jobs have ended. */
export interface Lane {
  readonly queue: string
  readonly phase: Effect.Effect<Phase>
  /** Moves to `phase`, announcing the change; staying in the same phase announces nothing. */
  readonly setPhase: (phase: Phase) => Effect.Effect<void>
  /** How the queue's jobs have ended so far: `finished`, and `failed` (retried or dead). */
  readonly outcomes: { readonly finished: number; readonly failed: number }
}

export interface Pool {
  readonly name: string
  readonly concurrency: number
  /** The pool's queues, in the order of its setting. */
  readonly lanes: ReadonlyArray<Lane>
  /** Reserves every free slot (maybe none) for one fetch; the scope returns those no job took. */
  readonly reserve: Effect.Effect<Reservation, never, Scope.Scope>
  /**
   * Runs each fetched job under a lease that takes one of `reservation`'s slots; `process` gets
   * the lease, and the end of the job's fiber releases it, however it ends.
   */
  readonly start: (
    reservation: Reservation,
    lane: Lane,
    jobs: ReadonlyArray<InProgressJob>,
    isolated: boolean,
  ) => Effect.Effect<void>
  /**
   * Puts back jobs in this node's in-progress list of `lane`'s queue that the pool holds no lease
   * for (a fetch whose reply was lost took them); returns how many.
   */
  readonly reconcile: (lane: Lane) => Effect.Effect<number, StoreError>
  /** Returns when a job has freed its slot. */
  readonly slotFreed: Effect.Effect<void>
  /**
   * Watches for the end of a job (its lease released) from now on: the effect returned waits for
   * the first to end after this call.
   */
  readonly nextJobEnd: Effect.Effect<Effect.Effect<void>>
  /** How many jobs of `lane`'s queue the pool holds now. */
  readonly holding: (lane: Lane) => number
  /** The jobs held now. */
  readonly running: Effect.Effect<ReadonlyArray<Lease.Running>>
  /** Jobs whose fibers run (for stats); the fibers, interrupted and awaited at shutdown. */
  readonly fibers: FiberSet.FiberSet<Outcome, never>
}

/** Slots of a reservation, and how many a lease has taken over. */
interface Held extends Reservation {
  leased: number
}

/** What the leases of one queue of a pool share: their writes, the pool's slot accounting, their counts. */
interface Owner extends Lane {
  readonly writer: Lease.Writer
  readonly freeSlot: (lease: PoolLease) => void
  readonly outcomes: { finished: number; failed: number }
}

/**
 * A lease of this pool: a class, so that the per-job object carries data only (its methods are
 * shared), and it knows its place in the pool's array of leases (see `leases`).
 */
class PoolLease implements Lease.Lease {
  readonly owner: Owner
  readonly queue: string
  readonly token: string
  readonly raw: string
  readonly isolated: boolean
  readonly startedMillis: number
  slot: number
  working = true
  progress: Progress | undefined = undefined
  constructor(owner: Owner, queue: string, job: InProgressJob, isolated: boolean, startedMillis: number, slot: number) {
    this.owner = owner
    this.queue = queue
    this.token = job.token
    this.raw = job.raw
    this.isolated = isolated
    this.startedMillis = startedMillis
    this.slot = slot
  }
  free(): void {
    this.owner.freeSlot(this)
  }
  get ack(): Effect.Effect<void, StoreError> {
    return this.owner.writer.ack(this)
  }
  retry(payload: string, atSeconds: number): Effect.Effect<void, StoreError> {
    return this.owner.writer.retry(this, payload, atSeconds)
  }
  bury(burial: Lease.Burial): Effect.Effect<Buried> {
    return this.owner.writer.bury(this, burial)
  }
}

/** One queue of a pool: its phase starts "active", and each change of it is announced once. */
const makeOwner = (
  queue: string,
  writer: Lease.Writer,
  freeSlot: (lease: PoolLease) => void,
  events: Events["Service"],
): Effect.Effect<Owner> =>
  Effect.map(Ref.make<Phase>("active"), (phase): Owner => {
    const announce: Record<Phase, QueueRunning | QueuePausing | QueuePaused> = {
      active: new QueueRunning({ queue }),
      pausing: new QueuePausing({ queue }),
      paused: new QueuePaused({ queue }),
    }
    return {
      queue,
      writer,
      freeSlot,
      outcomes: { finished: 0, failed: 0 },
      phase: Ref.get(phase),
      setPhase: (next) =>
        Ref.getAndSet(phase, next).pipe(
          Effect.flatMap((previous) => (previous === next ? Effect.void : events.publish(announce[next]))),
        ),
    }
  })

export const make = Effect.fnUntraced(function* (options: {
  readonly name: string
  readonly concurrency: number
  /** Each queue of the pool, with the writes of its leases. */
  readonly queues: ReadonlyArray<{ readonly queue: string; readonly writer: Lease.Writer }>
  readonly process: (lease: Lease.Lease) => Effect.Effect<Outcome>
}) {
  const { name, concurrency, process } = options
  const store = yield* JobStore
  const events = yield* Events
  const isolation = yield* Isolation
  const node = (yield* Node).id
  const fibers = yield* FiberSet.make<Outcome, never>()
  // Forks a job's fiber into the set from a plain step (see `startUnsafe`).
  const runFork = yield* FiberSet.runtime(fibers)()
  const clock = yield* Clock.Clock
  // The fetch loop's wait for a free slot (a full pool), opened when it waits, done by the next
  // job to free its slot: nothing per job while nobody waits.
  let freed: Deferred.Deferred<void> | undefined
  // Free slots, counted in place: every change is one synchronous step, and only the fetch loop
  // ever waits for one (`slotFreed`), so a semaphore would only add steps.
  let idle = concurrency
  /**
   * The jobs the pool holds; `reconcile` never takes a leased job for an orphan. An array (each
   * lease knows its slot; removal moves the last one into it), not a Set: a Set that takes and
   * drops an entry per job rehashes every few jobs, and V8 links each old hash table to its
   * successor (for live iterators). Once one of those tables is in the old generation, every later
   * table, the leases in it and all they reach (payloads, job fibers) are kept by it through each
   * scavenge, so promoted, until the next full GC.
   */
  const leases: Array<PoolLease> = []
  const release = (lease: PoolLease) => {
    const last = leases.pop()!
    if (last !== lease) {
      leases[lease.slot] = last
      last.slot = lease.slot
    }
  }
  // The wait of `nextJobEnd` (a pausing queue waiting for its jobs), done by the next job to end.
  let ended: Deferred.Deferred<void> | undefined
  const freeSlot = (lease: PoolLease) => {
    if (!lease.working) return
    lease.working = false
    idle++
    if (freed !== undefined) {
      Deferred.doneUnsafe(freed, Exit.void)
      freed = undefined
    }
    isolation.jobEndedUnsafe(lease.isolated)
  }
  const owners: ReadonlyArray<Owner> = yield* Effect.forEach(options.queues, ({ queue, writer }) =>
    makeOwner(queue, writer, freeSlot, events),
  )
  const holding = (lane: Lane) => {
    let count = 0
    for (const lease of leases) if (lease.owner === lane) count++
    return count
  }
  // Against the pool's context, not the job fiber's (see Stats).
  const context = yield* Effect.context<never>()
  const gauges = owners.map((owner) => [owner, Metric.withAttributes(Stats.busySlots, { queue: owner.queue })] as const)
  const [single] = gauges
  // One queue: the pool's count is the queue's. Several: counted per queue, once per fetch.
  const updateBusy =
    gauges.length === 1 && single !== undefined
      ? () => single[1].updateUnsafe(leases.length, context)
      : () => {
          for (const [owner, gauge] of gauges) gauge.updateUnsafe(holding(owner), context)
        }

  const reserve = Effect.acquireRelease(
    Effect.sync((): Held => {
      const count = idle
      idle = 0
      return { count, leased: 0 }
    }),
    (held) =>
      Effect.sync(() => {
        idle += held.count - held.leased
        // Once per fetch rather than twice per job: the gauge is read when scraped, and every
        // fetch (one per freed slot at most) and every idle pool brings it up to date.
        updateBusy()
      }),
  )

  /**
   * Leases a fetched job and forks its fiber; the fiber's end releases the lease, however it ends:
   * the slot (if `free` has not), the isolation claim, the claim on the payload, and counts the
   * outcome. Plain steps, no Scope or Semaphore: this runs for every job, and nothing here can
   * fail or wait.
   */
  const startUnsafe = (held: Held, owner: Owner, job: InProgressJob, isolated: boolean) => {
    held.leased++
    const lease = new PoolLease(owner, owner.queue, job, isolated, clock.currentTimeMillisUnsafe(), leases.length)
    // Held before the job's fiber runs: the fetch loop's next steps (reconcile, isolation) see it.
    leases.push(lease)
    isolation.jobStartedUnsafe(isolated)
    runFork(process(lease)).addObserver((exit) => {
      release(lease)
      if (leases.length === 0) updateBusy()
      lease.free()
      if (exit._tag === "Success") {
        if (exit.value === "finished") lease.owner.outcomes.finished++
        else if (exit.value === "retried" || exit.value === "dead") lease.owner.outcomes.failed++
      }
      if (ended !== undefined) {
        Deferred.doneUnsafe(ended, Exit.void)
        ended = undefined
      }
    })
  }

  const pool: Pool = {
    name,
    concurrency,
    lanes: owners,
    reserve,
    // One step for the whole fetch: a lease taken is a fiber started, which releases it.
    start: (reservation, lane, jobs, isolated) =>
      Effect.sync(() => {
        for (const job of jobs) startUnsafe(reservation as Held, lane as Owner, job, isolated)
      }),
    reconcile: (lane) =>
      Effect.gen(function* () {
        // Made here, not kept: reconcile runs every few polls.
        const leased = new Set<string>()
        for (const lease of leases) if (lease.owner === lane) leased.add(lease.token)
        const orphans: Array<string> = []
        for (const { token } of yield* store.inProgress(lane.queue, node)) if (!leased.has(token)) orphans.push(token)
        return yield* store.requeueOrphans(lane.queue, node, orphans)
      }),
    slotFreed: Effect.suspend(() => {
      if (idle > 0) return Effect.void
      freed ??= Deferred.makeUnsafe<void>()
      return Deferred.await(freed)
    }),
    nextJobEnd: Effect.sync(() => {
      ended ??= Deferred.makeUnsafe<void>()
      return Deferred.await(ended)
    }),
    holding,
    running: Effect.sync(() =>
      leases.map(({ queue, raw, startedMillis, progress }) => ({ queue, raw, startedMillis, progress })),
    ),
    fibers,
  }
  return pool
})
