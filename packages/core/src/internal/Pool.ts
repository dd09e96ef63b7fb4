/**
 * One pool on this node: `concurrency` slots shared by its queues (one queue, or several: each a
 * `Lane`), the jobs it holds, and what its fetch loop asks of it. Pause is per queue: each lane has
 * its own phase, and the loop asks whether a lane still holds jobs. A fetch first reserves every free slot (a scope that returns the slots no job took);
 * each fetched job is then a Lease (Lease.ts), which the job's fiber releases when it ends,
 * whatever happens: releasing frees the job's slot and its isolation claim, and stops counting its
 * payload as ours (see `reconcile`). Its slot is freed as soon as `perform` ends, so the next fetch
 * overlaps the outcome write; the lease itself lasts until the outcome is written.
 *
 * A one-queue pool whose jobs are short reads ahead (ReadAhead.ts): a fetch also takes up to
 * `concurrency` jobs more than it has free slots for. They are in progress in the store like any
 * other (a crash loses none), held here, and each starts in the next slot to free, so Redis fetches
 * the next jobs while these run instead of after. A job read ahead waits about one job's run, so
 * only pools whose runs are short read ahead (long jobs would wait on this node while another could
 * run them, for no gain), and never several queues' pools (their order decides at each start). A
 * paused queue's jobs read ahead go back to the queue (`giveBack`), and those left when the fetch
 * loop ends (`dropAhead`) are put back with the rest of the node's in-progress jobs at shutdown, or
 * by `reconcile`.
 */
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
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
import { ReadAhead } from "./ReadAhead.ts"

export type Phase = "active" | "pausing" | "paused"

/** What one fetch may take: `count` jobs, of which `slots` start at once (the rest read ahead). */
export interface Reservation {
  readonly count: number
  readonly slots: number
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
  /** Returns when a job has freed its slot (or room to read ahead again). */
  readonly slotFreed: Effect.Effect<void>
  /** Puts the jobs of `lane` read ahead back in its queue (it is paused); returns how many. */
  readonly giveBack: (lane: Lane) => Effect.Effect<number, StoreError>
  /** Forgets the jobs read ahead (the fetch loop ends): they stay in progress, for shutdown or `reconcile`. */
  readonly dropAhead: Effect.Effect<void>
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

/** A reservation, and how many of its slots a lease has taken over. */
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

/**
 * Takes `lease` out of the pool's `leases`: the last one moves into its slot. An array (each lease
 * knows its slot), not a Set: a Set that takes and drops an entry per job rehashes every few jobs,
 * and V8 links each old hash table to its successor (for live iterators). Once one of those tables
 * is in the old generation, every later table, the leases in it and all they reach (payloads, job
 * fibers) are kept by it through each scavenge, so promoted, until the next full GC.
 */
const removeLease = (leases: Array<PoolLease>, lease: PoolLease): void => {
  const last = leases.pop()!
  if (last !== lease) {
    leases[lease.slot] = last
    last.slot = lease.slot
  }
}

/** How many of `leases` are `lane`'s. */
const holdingOf = (leases: ReadonlyArray<PoolLease>, lane: Lane): number => {
  let count = 0
  for (const lease of leases) if (lease.owner === lane) count++
  return count
}

/** The tokens of the in-progress jobs not `held`. */
const orphanTokens = (inProgress: ReadonlyArray<InProgressJob>, held: ReadonlySet<string>): Array<string> =>
  inProgress.flatMap(({ token }) => (held.has(token) ? [] : [token]))

/**
 * Brings each queue's `verk_queue_busy` gauge up to date with the jobs held (in `context`, the
 * pool's, not a job fiber's: see Stats). One queue: the pool's count is the queue's.
 */
const busyUpdater = (
  owners: ReadonlyArray<Owner>,
  leases: ReadonlyArray<PoolLease>,
  context: Context.Context<never>,
): (() => void) => {
  const gauges = owners.map((owner) => [owner, Metric.withAttributes(Stats.busySlots, { queue: owner.queue })] as const)
  const [single] = gauges
  if (gauges.length === 1 && single !== undefined) return () => single[1].updateUnsafe(leases.length, context)
  return () => {
    for (const [owner, gauge] of gauges) gauge.updateUnsafe(holdingOf(leases, owner), context)
  }
}

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
  const ahead = new ReadAhead<Owner>(options.queues.length === 1 ? concurrency : 0)
  const wanted = () => idle > 0 || ahead.room() > 0
  // The jobs the pool holds (`reconcile` never takes a leased job for an orphan): see `removeLease`.
  const leases: Array<PoolLease> = []
  // The wait of `nextJobEnd` (a pausing queue waiting for its jobs), done by the next job to end.
  let ended: Deferred.Deferred<void> | undefined
  const freeSlot = (lease: PoolLease) => {
    if (!lease.working) return
    lease.working = false
    ahead.ran(clock.currentTimeMillisUnsafe() - lease.startedMillis)
    isolation.jobEndedUnsafe(lease.isolated)
    const next = ahead.next()
    if (next === undefined) idle++
    else startUnsafe(next.owner, next.job, false)
    if (freed !== undefined && wanted()) {
      Deferred.doneUnsafe(freed, Exit.void)
      freed = undefined
    }
  }
  const owners: ReadonlyArray<Owner> = yield* Effect.forEach(options.queues, ({ queue, writer }) =>
    makeOwner(queue, writer, freeSlot, events),
  )
  const holding = (lane: Lane) => holdingOf(leases, lane)
  // Against the pool's context, not the job fiber's (see Stats).
  const updateBusy = busyUpdater(owners, leases, yield* Effect.context<never>())

  const reserve = Effect.acquireRelease(
    Effect.sync((): Held => {
      // At most about `ReadAhead.Bytes` of payloads a fetch: a pool of many slots and large jobs
      // fills them over a few fetches, whose replies stay small.
      const most = ahead.perFetch()
      const slots = Math.min(idle, most)
      idle -= slots
      return { count: slots + Math.min(ahead.room(), most - slots), slots, leased: 0 }
    }),
    (held) =>
      Effect.sync(() => {
        idle += held.slots - held.leased
        // Once per fetch rather than twice per job: the gauge is read when scraped, and every
        // fetch (one per freed slot at most) and every idle pool brings it up to date.
        updateBusy()
      }),
  )

  /** A fetched job: started in a slot of its reservation, else in one freed since, else read ahead. */
  const placeUnsafe = (held: Held, owner: Owner, job: InProgressJob, isolated: boolean) => {
    ahead.fetched(job)
    if (held.leased < held.slots) {
      held.leased++
      startUnsafe(owner, job, isolated)
    } else if (idle > 0) {
      idle--
      startUnsafe(owner, job, isolated)
    } else ahead.hold(owner, job)
  }

  /**
   * Leases a fetched job and forks its fiber; the fiber's end releases the lease, however it ends:
   * the slot (if `free` has not), the isolation claim, the claim on the payload, and counts the
   * outcome. Plain steps, no Scope or Semaphore: this runs for every job, and nothing here can
   * fail or wait.
   */
  const startUnsafe = (owner: Owner, job: InProgressJob, isolated: boolean) => {
    const lease = new PoolLease(owner, owner.queue, job, isolated, clock.currentTimeMillisUnsafe(), leases.length)
    // Held before the job's fiber runs: the fetch loop's next steps (reconcile, isolation) see it.
    leases.push(lease)
    isolation.jobStartedUnsafe(isolated)
    runFork(process(lease)).addObserver((exit) => {
      removeLease(leases, lease)
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
        for (const job of jobs) placeUnsafe(reservation as Held, lane as Owner, job, isolated)
      }),
    reconcile: (lane) =>
      Effect.gen(function* () {
        // Made here, not kept: reconcile runs every few polls.
        const held = new Set<string>()
        for (const lease of leases) if (lease.owner === lane) held.add(lease.token)
        for (const { owner, job } of ahead.held) if (owner === lane) held.add(job.token)
        const inProgress = yield* store.inProgress(lane.queue, node)
        return yield* store.requeueOrphans(lane.queue, node, orphanTokens(inProgress, held))
      }),
    slotFreed: Effect.suspend(() => {
      if (wanted()) return Effect.void
      freed ??= Deferred.makeUnsafe<void>()
      return Deferred.await(freed)
    }),
    giveBack: (lane) =>
      Effect.suspend(() => {
        // Only one-queue pools read ahead: every job held is `lane`'s.
        const tokens = ahead.clear()
        return tokens.length === 0 ? Effect.succeed(0) : store.requeueOrphans(lane.queue, node, tokens)
      }),
    dropAhead: Effect.sync(() => {
      ahead.clear()
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
