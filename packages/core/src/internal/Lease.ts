/**
 * A fetched job, held from its fetch until its outcome is written: like Sidekiq's `UnitOfWork`, it
 * owns the writes that end it (ack, retry, bury), so the run (JobRun.ts) says what happened and the
 * lease says how that reaches the store. Each write removes the job from this node's in-progress
 * list in the same atomic step, so a crash before it lands leaves the job in progress (it runs
 * again), never lost. A lease is made by its pool (Pool.ts), which also frees its slot.
 */
import * as Effect from "effect/Effect"
import type * as LogLevel from "effect/LogLevel"
import type { Progress } from "../CurrentJob.ts"
import type * as Job from "../Job.ts"
import type { JobStoreShape, StoreError } from "../Store.ts"
import type * as Acker from "./Acker.ts"
import type { Buried, DeadLetter } from "./DeadLetter.ts"

/** A job running on this node, as Sidekiq's `<identity>:work` shows it. */
export interface Running {
  readonly queue: string
  readonly raw: string
  readonly startedMillis: number
  /** The job's last progress report, shown in the work entry. */
  readonly progress?: Progress | undefined
}

/** How a dead job's entry reads (see DeadLetter's `Death`); the lease adds where it comes from. */
export interface Burial {
  readonly failure: Job.Failure
  readonly reason: string
  readonly job?: Job.Job | undefined
  readonly logLevel?: LogLevel.LogLevel | undefined
  readonly nowMillis?: number | undefined
}

export interface Lease extends Running {
  /** The job's last progress report (set by its `CurrentJob.progress`). */
  progress?: Progress | undefined
  /** The job's token in this node's in-progress entries: its outcome's writes find it by that. */
  readonly token: string
  /** A job back from a dead node, running alone (see Isolation). */
  readonly isolated: boolean
  /**
   * Frees the job's slot in its pool once `perform` has ended, so that the next fetch overlaps the
   * outcome write; idempotent. A plain call: it runs inside the job's own step.
   */
  readonly free: () => void
  /** The job succeeded: it leaves in-progress (a batched write, see Acker.ts). */
  readonly ack: Effect.Effect<void, StoreError>
  /** The job failed and runs again at `atSeconds`: `payload` (its text with the failure) goes to `retry`. */
  readonly retry: (payload: string, atSeconds: number) => Effect.Effect<void, StoreError>
  /** The job goes to the dead set; retried until it lands (DeadLetter.ts), so it never fails. */
  readonly bury: (burial: Burial) => Effect.Effect<Buried>
}

/** The store writes of one queue's leases on one node. */
export interface Writer {
  readonly ack: (lease: Lease) => Effect.Effect<void, StoreError>
  readonly retry: (lease: Lease, payload: string, atSeconds: number) => Effect.Effect<void, StoreError>
  readonly bury: (lease: Lease, burial: Burial) => Effect.Effect<Buried>
}

/**
 * The writes of `queue`'s leases on `node`. A suspect that ran alone and has its outcome written
 * is a suspect no more: its recovery count is forgotten (a failure to is only logged).
 */
export const writer = (options: {
  readonly queue: string
  readonly node: string
  readonly store: JobStoreShape
  readonly deadLetter: DeadLetter["Service"]
  readonly ack: Acker.Ack
}): Writer => {
  const { queue, node, store, deadLetter, ack } = options
  const settled = <A, E>(lease: Lease, write: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    lease.isolated
      ? Effect.tap(write, () =>
          Effect.catch(store.forgetRecovery(queue, lease.raw), (error) =>
            Effect.logWarning(`Could not clear the recovery count of a job: ${error.message}`),
          ),
        )
      : write
  return {
    ack: (lease) => settled(lease, ack(queue, lease.token)),
    retry: (lease, payload, atSeconds) => settled(lease, store.retry(queue, node, lease.token, payload, atSeconds)),
    bury: (lease, burial) =>
      settled(
        lease,
        deadLetter.bury({
          ...burial,
          from: { _tag: "InProgress", queue, node, token: lease.token },
          raw: lease.raw,
          queue,
        }),
      ),
  }
}
