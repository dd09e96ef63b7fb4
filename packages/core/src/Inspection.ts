/**
 * Verk's inspection API over the store: `Queue`, `RetrySet`, `ScheduledSet` and `DeadSet`.
 * Entries keep their raw payload (their identity) beside the decoded job, and a payload that
 * does not decode is shown as a `MalformedJob` rather than hidden.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Job from "./Job.ts"
import { NodeStore, type ScoredPayload, SetStore, type SortedSetName, type StoreError } from "./Store.ts"

/** A payload as read from the store, beside its decoded job (or why it is not one). */
export interface Entry {
  readonly raw: string
  readonly job: Result.Result<Job.Job, Job.MalformedJob>
}

/** An entry of a sorted set (`retry`, `schedule`, `dead`), with its score. */
export interface ScoredEntry extends Entry {
  /** Epoch seconds: when it runs (schedule, retry) or died (dead). */
  readonly score: number
}

const PageSize = 500

const entry = (raw: string): Entry => ({ raw, job: Job.decodeResult(raw) })
const scoredEntry = ({ payload, score }: ScoredPayload): ScoredEntry => ({ ...entry(payload), score })

/** A sorted set's member (as a scan returns it), decoded. */
export const decodeScored: (member: ScoredPayload) => ScoredEntry = scoredEntry

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
  SetStore.use((store) => Effect.map(store.queueRange(queue, start, stop), (raws) => raws.map(entry)))

const findInQueue = Effect.fn("Queue.find")(function* (queue: string, jid: string) {
  return yield* findIn(jid, (start, stop) => queueRange(queue, start, stop))
})

/** The queues: their names, sizes and jobs, and finding, deleting or clearing them. */
export const Queue = {
  /** The names of the known queues. */
  names: SetStore.use((store) => store.queues),
  /** How many jobs wait in `queue`. */
  size: (queue: string) => SetStore.use((store) => store.queueSize(queue)),
  /** Jobs from newest (index 0) to next-to-run, Redis LRANGE style. */
  range: queueRange,
  find: findInQueue,
  delete: Effect.fn("Queue.delete")(function* (queue: string, jid: string) {
    const found = yield* findInQueue(queue, jid)
    return found === undefined ? false : yield* SetStore.use((store) => store.deleteFromQueue(queue, found.raw))
  }),
  clear: (queue: string) => SetStore.use((store) => store.clearQueue(queue)),
}

/** Members a scan step of `find` looks at: a few milliseconds of Redis's and our time. */
const ScanStep = 200

/** The text a job's JSON holds for its jid (what a scan's prefilter looks for). */
const jidText = (jid: string) => JSON.stringify(jid)

const sortedSet = (set: SortedSetName) => {
  const range = (start = 0, stop = -1) =>
    SetStore.use((store) => Effect.map(store.setRange(set, start, stop), (members) => members.map(scoredEntry)))
  /**
   * One bounded step of a cursor scan (see `SetStoreShape.scanSet`): start at `"0"`, done when the
   * cursor returned is `"0"`. With `contains`, only members holding that text may come back. The
   * members come undecoded: a caller decodes (`decodeScored`) only those it looks at.
   */
  const scan = (cursor: string, count: number, contains?: string) =>
    SetStore.use((store) => store.scanSet(set, cursor, count, contains))
  /**
   * The entry of the job with this jid, by a cursor scan whose steps let through only members
   * holding the jid's JSON text: never the whole set at once, and only candidates are decoded.
   */
  const find = Effect.fn(`${set}.find`)(function* (jid: string) {
    let cursor = "0"
    do {
      const step = yield* scan(cursor, ScanStep, jidText(jid))
      for (const member of step.entries) {
        const candidate = decodeScored(member)
        if (Result.isSuccess(candidate.job) && candidate.job.success.jid === jid) return candidate
      }
      cursor = step.cursor
    } while (cursor !== "0")
    return undefined
  })
  /** Moves an entry read from the set to its queue now, if still there; a malformed one cannot move. */
  const requeueEntry = Effect.fn(`${set}.requeueEntry`)(function* (found: ScoredEntry) {
    if (Result.isFailure(found.job)) return false
    const now = yield* Clock.currentTimeMillis
    // Only `enqueued_at` changes: the rest of the job moves byte for byte.
    const payload = Job.patch(found.raw, Job.enqueuedChanges(now))
    if (Result.isFailure(payload)) return false
    const queue = found.job.success.queue
    const moved = yield* SetStore.use((store) =>
      store.promote(set, [{ raw: found.raw, payload: payload.success, queue }], Job.toEpochSeconds(now)),
    )
    return moved > 0
  })
  return {
    size: SetStore.use((store) => store.setSize(set)),
    range,
    scan,
    /** The entries at exactly `score`, by member, from `offset`, at most `limit`. */
    at: (score: number, offset: number, limit: number) =>
      SetStore.use((store) =>
        Effect.map(store.setAt(set, score, offset, limit), (members) => members.map(scoredEntry)),
      ),
    find,
    delete: Effect.fn(`${set}.delete`)(function* (jid: string) {
      const found = yield* find(jid)
      return found === undefined ? false : yield* SetStore.use((store) => store.deleteFromSet(set, found.raw))
    }),
    /** Deletes exactly this entry (its member's bytes), whatever it holds; whether it was there. */
    deleteEntry: (entry: Entry) => SetStore.use((store) => store.deleteFromSet(set, entry.raw)),
    clear: SetStore.use((store) => store.clearSet(set)),
    /**
     * Move the job to its queue now, if it is still in the set. A job that cannot run (malformed)
     * stays where it is. Returns whether it moved.
     */
    requeueNow: Effect.fn(`${set}.requeueNow`)(function* (jid: string) {
      const found = yield* find(jid)
      return found === undefined ? false : yield* requeueEntry(found)
    }),
    requeueEntry,
    /**
     * Move every job that can run to its queue now (Sidekiq's "retry all"), in batches, each job
     * only if still in the set; `only` narrows it (to one class, say). Malformed entries stay.
     * Returns how many moved.
     */
    requeueAll: Effect.fn(`${set}.requeueAll`)(function* (only: (job: Job.Job) => boolean = () => true) {
      // A cursor scan in bounded steps, each step's jobs moved before the next is read: a set of
      // any size is never read, decoded or held at once.
      const now = yield* Clock.currentTimeMillis
      let moved = 0
      let cursor = "0"
      do {
        const step = yield* scan(cursor, ScanStep)
        const promotions = step.entries.flatMap((member) => {
          const entry = decodeScored(member)
          if (Result.isFailure(entry.job) || !only(entry.job.success)) return []
          const payload = Job.patch(entry.raw, Job.enqueuedChanges(now))
          return Result.isFailure(payload)
            ? []
            : [{ raw: entry.raw, payload: payload.success, queue: entry.job.success.queue }]
        })
        if (promotions.length > 0) {
          moved += yield* SetStore.use((store) => store.promote(set, promotions, Job.toEpochSeconds(now)))
        }
        cursor = step.cursor
        yield* Effect.yieldNow
      } while (cursor !== "0")
      return moved
    }),
  }
}

/** Jobs waiting to be retried (`retry`), scored by when they run next. */
export const RetrySet = sortedSet("retry")
/** Jobs scheduled to run later (`schedule`), scored by when they run. */
export const ScheduledSet = sortedSet("schedule")
/** Jobs that will not run again (`dead`), scored by when they died. */
export const DeadSet = sortedSet("dead")

/**
 * Moves a job of the retry or schedule set to the dead set now (Sidekiq's "kill"), if it is still
 * there, byte for byte. Returns whether it moved.
 */
export const kill = Effect.fn("Inspection.kill")(function* (set: "retry" | "schedule", jid: string) {
  const found = yield* (set === "retry" ? RetrySet : ScheduledSet).find(jid)
  return found === undefined ? false : yield* killEntry(set, found)
})

/** Moves exactly this entry of the retry or schedule set to dead now, byte for byte, if still there. */
export const killEntry = Effect.fn("Inspection.killEntry")(function* (set: "retry" | "schedule", found: Entry) {
  const now = yield* Clock.currentTimeMillis
  const moved = yield* SetStore.use((store) =>
    store.promote(set, [{ raw: found.raw, payload: found.raw, queue: undefined }], Job.toEpochSeconds(now)),
  )
  return moved > 0
})

/** Seconds since the next job of `queue` to run was enqueued; 0 for an empty queue. */
export const latency = Effect.fn("Inspection.latency")(function* (queue: string) {
  const [next] = yield* queueRange(queue, -1, -1)
  if (next === undefined || Result.isFailure(next.job)) return 0
  const enqueuedAt = next.job.success.enqueued_at ?? next.job.success.created_at
  if (enqueuedAt === undefined) return 0
  const now = yield* Clock.currentTimeMillis
  return Math.max(0, Job.toEpochSeconds(now) - enqueuedAt)
})

/** One day of `history`: the jobs processed and failed that day (Sidekiq's daily counters). */
export interface DayStats {
  /** YYYY-MM-DD, UTC, as Sidekiq's daily keys name it. */
  readonly day: string
  readonly processed: number
  readonly failed: number
}

/** Sidekiq's daily counters (`stat:processed:<day>`) for the last `days` days, oldest first. */
export const history = Effect.fn("Inspection.history")(function* (days: number) {
  const now = yield* Clock.currentTimeMillis
  const store = yield* SetStore
  const result: Array<DayStats> = []
  for (let back = days - 1; back >= 0; back--) {
    const day = new Date(now - back * 86_400_000).toISOString().slice(0, 10)
    const totals = yield* store.stats(day)
    result.push({ day, ...totals })
  }
  return result
})

const ProcessInfoJson = Schema.fromJsonString(
  Schema.Struct({
    hostname: Schema.optionalKey(Schema.String),
    pid: Schema.optionalKey(Schema.Number),
    queues: Schema.optionalKey(Schema.Array(Schema.String)),
    concurrency: Schema.optionalKey(Schema.Number),
    started_at: Schema.optionalKey(Schema.Number),
    tag: Schema.optionalKey(Schema.String),
  }),
)

// Read apart from the rest of the info: a node whose pools do not decode still shows its host.
const PoolsJson = Schema.fromJsonString(
  Schema.Struct({
    pools: Schema.Array(
      Schema.Struct({
        name: Schema.String,
        queues: Schema.Array(Schema.String),
        weights: Schema.optionalKey(Schema.Array(Schema.Number)),
        concurrency: Schema.Number,
      }),
    ),
  }),
)

// Sidekiq 8's capsules (a Sidekiq process lists no `pools`): name → slots, mode and queue weights.
const CapsulesJson = Schema.fromJsonString(
  Schema.Struct({
    capsules: Schema.Record(
      Schema.String,
      Schema.Struct({
        concurrency: Schema.Number,
        mode: Schema.optionalKey(Schema.String),
        weights: Schema.Record(Schema.String, Schema.Number),
      }),
    ),
  }),
)

const WorkJson = Schema.fromJsonString(
  Schema.Struct({
    queue: Schema.String,
    run_at: Schema.Number,
    payload: Schema.Struct({
      jid: Schema.optionalKey(Schema.String),
      class: Schema.optionalKey(Schema.String),
      args: Schema.optionalKey(Schema.Array(Schema.Unknown)),
    }),
    progress: Schema.optionalKey(Schema.Struct({ percent: Schema.Number, message: Schema.optionalKey(Schema.String) })),
  }),
)

/** A job a node is running now, from Sidekiq's `<identity>:work` hash. */
export interface RunningWork {
  readonly queue: string
  readonly jid: string | undefined
  readonly class: string | undefined
  readonly args: ReadonlyArray<unknown> | undefined
  /** Epoch seconds. */
  readonly runAt: number
  /** The job's last progress report (`CurrentJob.progress`), when it made one. */
  readonly progress?: { readonly percent: number; readonly message: string | undefined } | undefined
}

/** A pool of a node, as its heartbeat lists it (see `Settings.PoolSetting`). */
export interface ProcessPool {
  readonly name: string
  readonly queues: ReadonlyArray<string>
  /** Each queue's weight, in `queues`' order; absent when the order is strict. */
  readonly weights?: ReadonlyArray<number> | undefined
  readonly concurrency: number
}

/** A live node of Sidekiq's process registry, its `info` decoded (fields another client left out are absent). */
export interface Process {
  readonly identity: string
  readonly hostname: string | undefined
  readonly pid: number | undefined
  readonly queues: ReadonlyArray<string>
  /**
   * The node's pools and their queues: a Sidekiq 8 process's capsules; none for a node that lists
   * neither (Sidekiq before 8).
   */
  readonly pools: ReadonlyArray<ProcessPool>
  readonly concurrency: number | undefined
  /** Epoch seconds. */
  readonly startedAt: number | undefined
  readonly busy: number
  /** Epoch seconds of the last heartbeat. */
  readonly beat: number
  /** Resident set size in KB (Sidekiq's `rss`), when the node wrote it. */
  readonly rss: number | undefined
  readonly work: ReadonlyArray<RunningWork>
}

const decodeInfo = Schema.decodeUnknownOption(ProcessInfoJson)
const decodeWork = Schema.decodeUnknownOption(WorkJson)
const decodePools = Schema.decodeUnknownOption(PoolsJson)
const decodeCapsules = Schema.decodeUnknownOption(CapsulesJson)

/**
 * A node's pools: as Verk writes them, else its Sidekiq capsules as pools (a strict capsule's
 * weights are all 0, Sidekiq's way: none here), else none.
 */
const poolsOf = (info: string): ReadonlyArray<ProcessPool> =>
  Option.match(decodePools(info), {
    onSome: ({ pools }) => pools,
    onNone: () =>
      Option.match(decodeCapsules(info), {
        onNone: () => [],
        onSome: ({ capsules }) =>
          Object.entries(capsules).map(([name, { concurrency, mode, weights }]) => {
            const queues = Object.keys(weights)
            const strict = mode === "strict" || Object.values(weights).every((weight) => weight === 0)
            return strict
              ? { name, queues, concurrency }
              : { name, queues, weights: Object.values(weights), concurrency }
          }),
      }),
  })

const sumConcurrency = (pools: ReadonlyArray<ProcessPool>): number =>
  pools.reduce((sum, pool) => sum + pool.concurrency, 0)

/** The nodes in Sidekiq's process registry (ours and Sidekiq's own), with what each runs now. */
export const processes: Effect.Effect<ReadonlyArray<Process>, StoreError, NodeStore> = NodeStore.use((store) =>
  Effect.map(store.processes, (entries) =>
    entries.map((entry): Process => {
      const info = Option.getOrUndefined(decodeInfo(entry.info))
      const pools = poolsOf(entry.info)
      return {
        identity: entry.identity,
        hostname: info?.hostname,
        pid: info?.pid,
        queues: info?.queues ?? [],
        pools,
        // Sidekiq 8 writes each capsule's slots only.
        concurrency: info?.concurrency ?? (pools.length === 0 ? undefined : sumConcurrency(pools)),
        startedAt: info?.started_at,
        busy: entry.busy,
        beat: entry.beat,
        rss: entry.rss,
        work: entry.work.flatMap(([, json]) =>
          Option.match(decodeWork(json), {
            onNone: () => [],
            onSome: (work) => [
              {
                queue: work.queue,
                jid: work.payload.jid,
                class: work.payload.class,
                args: work.payload.args,
                runAt: work.run_at,
                // Absent, not undefined, for a job that made no report: JSON readers see no key.
                ...(work.progress === undefined
                  ? {}
                  : { progress: { percent: work.progress.percent, message: work.progress.message } }),
              },
            ],
          }),
        ),
      }
    }),
  ),
)

/** Periodic entries: listed with their last and next run; paused, resumed or run now (see PeriodicInspection.ts). */
export { PeriodicEntries as Periodic, type PeriodicEntry, PeriodicEntryNotFound } from "./PeriodicInspection.ts"

/** Unique jobs' locks: which job holds a key (see UniqueInspection.ts). */
export { UniqueLocks } from "./UniqueInspection.ts"
