/**
 * Cancelling jobs by jid. A cancel first writes a durable marker (`CancelStore.markCancelled`,
 * kept `CancelMarkerSeconds`) and tells every node; then it removes the job from wherever it
 * waits (its queue, `schedule` or `retry`). A node running the job interrupts it at once (Effect
 * interruption, as a timeout does: its finalizers run) and takes it out of in-progress; nothing
 * else is written, no retry and no dead entry (see internal/Cancel.ts, JobRun.ts). The marker
 * keeps a job from running that a node fetched at the same moment, or that comes back later (a
 * dead node's job recovered): it is dropped before it starts. Cancelling again is harmless.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { DeadSet, Queue, RetrySet, ScheduledSet } from "./Inspection.ts"
import * as Job from "./Job.ts"
import { CancelMarkerSeconds, CancelStore, JobStore, NodeStore, SetStore, type StoreError } from "./Store.ts"
import * as Unique from "./Unique.ts"

/** What a cancel found and did. */
export type CancelResult =
  /** The job waited (in `queue`, or in the `schedule` or `retry` set): it is removed. */
  | {
      readonly _tag: "Removed"
      readonly jid: string
      readonly from: "queue" | "schedule" | "retry"
      readonly queue: string
    }
  /**
   * The job is in `node`'s in-progress entries: that node interrupts it now (or, if it died, the
   * node that recovers it drops it).
   */
  | {
      readonly _tag: "Interrupted"
      readonly jid: string
      readonly node: string
      /** Whether `node`'s heartbeat is fresh: a dead node's jobs are dropped by whoever recovers them. */
      readonly alive: boolean
    }
  /** The job was cancelled before (and is not waiting anywhere): nothing more to do. */
  | { readonly _tag: "AlreadyCancelled"; readonly jid: string }
  /**
   * The job neither waits nor runs: it has finished (`dead`: it is in the dead set), or no such
   * job exists. Its marker still keeps it from running should it come back.
   */
  | { readonly _tag: "Finished"; readonly jid: string; readonly dead: boolean }

/** One line for a person: what `cancel` did. */
export const describe = (result: CancelResult): string => {
  switch (result._tag) {
    case "Removed":
      return `${result.jid}: cancelled, removed from ${result.from === "queue" ? `queue ${result.queue}` : `the ${result.from} set`}`
    case "Interrupted":
      return result.alive
        ? `${result.jid}: cancelled, running on ${result.node}: interrupted there`
        : `${result.jid}: cancelled, held by ${result.node}, which is not alive: dropped when its jobs are recovered`
    case "AlreadyCancelled":
      return `${result.jid}: already cancelled`
    case "Finished":
      return result.dead
        ? `${result.jid}: already finished (it is in the dead set); nothing to cancel`
        : `${result.jid}: not waiting or running (already finished, or no such job); nothing to cancel`
  }
}

/**
 * Frees the unique lock (Unique.ts) a removed job holds: it has reached its end state. A release
 * that fails is left to the lock's ttl, as after a run.
 */
const freeLock = (job: Job.Job) => {
  const lock = Unique.lockOf(job)
  return lock === undefined
    ? Effect.void
    : Effect.ignore(JobStore.use((store) => store.releaseUnique(job.queue, lock.digest, job.jid)))
}

/** The waiting places of a job, searched in order: every queue, then `schedule` and `retry`. */
const removeWaiting = Effect.fn("Cancel.removeWaiting")(function* (jid: string) {
  for (const queue of yield* Queue.names) {
    const found = yield* Queue.find(queue, jid)
    if (found !== undefined && (yield* SetStore.use((store) => store.deleteFromQueue(queue, found.raw)))) {
      const job = Job.decodeResult(found.raw)
      if (Result.isSuccess(job)) yield* freeLock(job.success)
      return { _tag: "Removed", jid, from: "queue", queue } as const
    }
  }
  for (const [from, set] of [
    ["schedule", ScheduledSet],
    ["retry", RetrySet],
  ] as const) {
    const found = yield* set.find(jid)
    if (found !== undefined && (yield* set.deleteEntry(found))) {
      if (Result.isSuccess(found.job)) yield* freeLock(found.job.success)
      const queue = Result.isSuccess(found.job) ? found.job.success.queue : ""
      return { _tag: "Removed", jid, from, queue } as const
    }
  }
  return undefined
})

/**
 * The node whose in-progress entries hold the job (it runs there, or its node died with it and
 * it waits for recovery), read from the store rather than the heartbeats' registry: a job that
 * has just started is in-progress before any heartbeat says so.
 */
const runningOn = Effect.fn("Cancel.runningOn")(function* (jid: string) {
  const nodes = yield* NodeStore
  const jobs = yield* JobStore
  for (const node of yield* nodes.nodes) {
    for (const queue of yield* nodes.nodeQueues(node)) {
      for (const { raw } of yield* jobs.inProgress(queue, node)) {
        if (raw.includes(jid) && Job.jidOf(raw) === jid) return node
      }
    }
  }
  return undefined
})

/**
 * Cancel the job `jid` (see the module's comment): removed if it waits, interrupted on the node
 * that runs it, and kept from running should it come back. Idempotent.
 */
export const cancel: (
  jid: string,
) => Effect.Effect<CancelResult, StoreError, CancelStore | SetStore | NodeStore | JobStore> = Effect.fn(
  "Cancel.cancel",
)(function* (jid: string) {
  // Looked for before the marker too: its node may take it out of in-progress at once.
  const runningBefore = yield* runningOn(jid)
  const now = yield* Clock.currentTimeMillis
  // The marker before the removal: a fetch or a promotion racing the removal finds it.
  const fresh = yield* CancelStore.use((store) => store.markCancelled(jid, now, now + CancelMarkerSeconds * 1000))
  const removed = yield* removeWaiting(jid)
  if (removed !== undefined) return removed
  if (!fresh) return { _tag: "AlreadyCancelled", jid } as const
  // Again after the marker: a job fetched meanwhile is in-progress now (and dropped by its node).
  const node = runningBefore ?? (yield* runningOn(jid))
  if (node !== undefined) {
    const alive = yield* NodeStore.use((store) => store.isAlive(node, now))
    return { _tag: "Interrupted", jid, node, alive } as const
  }
  const dead = (yield* DeadSet.find(jid)) !== undefined
  // A dead job has ended: its marker would only keep a later retry of it from the dead set from running.
  if (dead) yield* CancelStore.use((store) => store.forgetCancelled(jid))
  return { _tag: "Finished", jid, dead } as const
})

/** `cancel` for each jid, in order. */
export const cancelAll = (
  jids: ReadonlyArray<string>,
): Effect.Effect<ReadonlyArray<CancelResult>, StoreError, CancelStore | SetStore | NodeStore | JobStore> =>
  Effect.forEach(jids, cancel)
