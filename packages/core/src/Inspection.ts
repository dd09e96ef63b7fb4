/**
 * Verk's inspection API over the store: `Queue`, `RetrySet`, `ScheduledSet` and `DeadSet`.
 * Entries keep their raw payload (their identity) beside the decoded job, and a payload that
 * does not decode is shown as a `MalformedJob` rather than hidden.
 */
import { Clock, Effect, Result } from "effect"
import * as Job from "./Job.ts"
import { type ScoredPayload, type SortedSetName, Store } from "./Store.ts"

export interface Entry {
  readonly raw: string
  readonly job: Result.Result<Job.Job, Job.MalformedJob>
}

export interface ScoredEntry extends Entry {
  /** Epoch seconds: when it runs (schedule, retry) or died (dead). */
  readonly score: number
}

const PageSize = 500

const entry = (raw: string): Entry => ({ raw, job: Effect.runSync(Effect.result(Job.decode(raw))) })
const scoredEntry = ({ payload, score }: ScoredPayload): ScoredEntry => ({ ...entry(payload), score })

/** Scans `page(start, stop)` until a raw payload whose job has the given jid turns up. */
const findIn = <A extends Entry, E, R>(
  jid: string,
  page: (start: number, stop: number) => Effect.Effect<ReadonlyArray<A>, E, R>,
) =>
  Effect.gen(function* () {
    for (let start = 0; ; start += PageSize) {
      const entries = yield* page(start, start + PageSize - 1)
      for (const candidate of entries) {
        // A cheap substring test first: decoding every payload of a long queue is wasteful.
        if (!candidate.raw.includes(jid)) continue
        if (Result.isSuccess(candidate.job) && candidate.job.success.jid === jid) return candidate
      }
      if (entries.length < PageSize) return undefined
    }
  })

const queueRange = (queue: string, start = 0, stop = -1) =>
  Store.use((store) => Effect.map(store.queueRange(queue, start, stop), (raws) => raws.map(entry)))

const findInQueue = Effect.fn("Queue.find")(function* (queue: string, jid: string) {
  return yield* findIn(jid, (start, stop) => queueRange(queue, start, stop))
})

export const Queue = {
  names: Store.use((store) => store.queues),
  size: (queue: string) => Store.use((store) => store.queueSize(queue)),
  /** Jobs from newest (index 0) to next-to-run, Redis LRANGE style. */
  range: queueRange,
  find: findInQueue,
  delete: Effect.fn("Queue.delete")(function* (queue: string, jid: string) {
    const found = yield* findInQueue(queue, jid)
    return found === undefined ? false : yield* Store.use((store) => store.deleteFromQueue(queue, found.raw))
  }),
  clear: (queue: string) => Store.use((store) => store.clearQueue(queue)),
}

const sortedSet = (set: SortedSetName) => {
  const range = (start = 0, stop = -1) =>
    Store.use((store) => Effect.map(store.setRange(set, start, stop), (members) => members.map(scoredEntry)))
  const find = Effect.fn(`${set}.find`)(function* (jid: string) {
    return yield* findIn(jid, range)
  })
  return {
    size: Store.use((store) => store.setSize(set)),
    range,
    find,
    delete: Effect.fn(`${set}.delete`)(function* (jid: string) {
      const found = yield* find(jid)
      return found === undefined ? false : yield* Store.use((store) => store.deleteFromSet(set, found.raw))
    }),
    clear: Store.use((store) => store.clearSet(set)),
    /**
     * Move the job to its queue now, if it is still in the set. A job that cannot run (malformed)
     * stays where it is. Returns whether it moved.
     */
    requeueNow: Effect.fn(`${set}.requeueNow`)(function* (jid: string) {
      const found = yield* find(jid)
      if (found === undefined || Result.isFailure(found.job)) return false
      const now = yield* Clock.currentTimeMillis
      // Only `enqueued_at` changes: the rest of the job moves byte for byte.
      const payload = Job.patch(found.raw, Job.enqueuedChanges(now))
      if (Result.isFailure(payload)) return false
      const queue = found.job.success.queue
      const moved = yield* Store.use((store) =>
        store.promote(set, [{ raw: found.raw, payload: payload.success, queue }], Job.toEpochSeconds(now)),
      )
      return moved > 0
    }),
  }
}

export const RetrySet = sortedSet("retry")
export const ScheduledSet = sortedSet("schedule")
export const DeadSet = sortedSet("dead")
