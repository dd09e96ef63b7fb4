/**
 * Verk's administration: what the `verk` commands (`stats`, `queue`, `jobs`) and Verk Web (its
 * JSON API and its pages) read and change, through core's `Inspection` and the `Store` (never Redis
 * directly, so it works on every store). Neither CLI nor web: the shapes it returns are Schemas
 * (the dashboard's API serves them as they are), and the failures a user can cause (an unknown
 * queue, a job that vanished meanwhile, killing a dead job) are typed errors, which carry the HTTP
 * status the API answers them with as an annotation (no HTTP module is loaded for it).
 */
import { Inspection, Job, Payload, Store } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** A request that cannot be done as asked (the API answers 400). */
export class BadRequest extends Schema.TaggedError<BadRequest>()(
  "BadRequest",
  { message: Schema.String },
  { httpApiStatus: 400 },
) {}

/** An unknown queue, or a job no longer where it was looked for (the API answers 404). */
export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  { message: Schema.String },
  { httpApiStatus: 404 },
) {}

// ---------------------------------------------------------------------------------------------
// What it returns
// ---------------------------------------------------------------------------------------------

/** The retry, schedule and dead sets, by the dashboard's page names for them. */
export const SetName = Schema.Literals(["retries", "scheduled", "dead"])
export type SetName = typeof SetName.Type

/** One UTC day's counters (Sidekiq's `stat:processed:<day>` and `stat:failed:<day>`). */
export const DayStats = Schema.Struct({ day: Schema.String, processed: Schema.Number, failed: Schema.Number })
export type DayStats = typeof DayStats.Type

/** The counters of the dashboard's front page: Sidekiq's totals, the sets' sizes, the live nodes. */
export const Overview = Schema.Struct({
  processed: Schema.Number,
  failed: Schema.Number,
  enqueued: Schema.Number,
  retries: Schema.Number,
  scheduled: Schema.Number,
  dead: Schema.Number,
  busy: Schema.Number,
  nodes: Schema.Number,
  /** The last 30 days, oldest first (UTC days). */
  history: Schema.Array(DayStats),
})
export type Overview = typeof Overview.Type

/** A queue as the queues list shows it. */
export const QueueInfo = Schema.Struct({
  name: Schema.String,
  size: Schema.Number,
  /** Seconds since the next job to run was enqueued. */
  latency: Schema.Number,
  paused: Schema.Boolean,
})
export type QueueInfo = typeof QueueInfo.Type

/** A job as the dashboard shows it. A payload that is not a job has `malformed` and its text in `payload`. */
export const JobView = Schema.Struct({
  jid: Schema.String,
  class: Schema.String,
  queue: Schema.String,
  args: Schema.Array(Schema.Unknown),
  /** Epoch seconds: when it runs (scheduled, retries) or died (dead); absent in a queue. */
  at: Schema.optional(Schema.Number),
  createdAt: Schema.optional(Schema.Number),
  enqueuedAt: Schema.optional(Schema.Number),
  failedAt: Schema.optional(Schema.Number),
  retriedAt: Schema.optional(Schema.Number),
  retryCount: Schema.optional(Schema.Number),
  errorClass: Schema.optional(Schema.String),
  errorMessage: Schema.optional(Schema.String),
  backtrace: Schema.optional(Schema.Array(Schema.String)),
  malformed: Schema.optional(Schema.String),
  payload: Schema.String,
})
export type JobView = typeof JobView.Type

/** One page of a queue's or a set's jobs. */
export const JobPage = Schema.Struct({
  /** Jobs matching the filter, over every page. */
  total: Schema.Number,
  page: Schema.Number,
  size: Schema.Number,
  jobs: Schema.Array(JobView),
})
export type JobPage = typeof JobPage.Type

/** A job a node is running now. */
export const Work = Schema.Struct({
  queue: Schema.String,
  jid: Schema.optional(Schema.String),
  class: Schema.optional(Schema.String),
  args: Schema.optional(Schema.Array(Schema.Unknown)),
  runAt: Schema.Number,
})

/** A live node (a worker process) as its heartbeat describes it. */
export const NodeInfo = Schema.Struct({
  identity: Schema.String,
  hostname: Schema.optional(Schema.String),
  pid: Schema.optional(Schema.Number),
  queues: Schema.Array(Schema.String),
  concurrency: Schema.optional(Schema.Number),
  startedAt: Schema.optional(Schema.Number),
  busy: Schema.Number,
  beat: Schema.Number,
  /** Resident set size in KB, when the node wrote it. */
  rss: Schema.optional(Schema.Number),
  work: Schema.Array(Work),
})
export type NodeInfo = typeof NodeInfo.Type

/** What an action did: how many jobs it changed, and the jids no longer there. */
export const Done = Schema.Struct({ count: Schema.Number, missing: Schema.Array(Schema.String) })
export type Done = typeof Done.Type

// ---------------------------------------------------------------------------------------------
// Reading and changing
// ---------------------------------------------------------------------------------------------

/** Jobs on a page when the request names no size. */
export const DefaultPageSize = 25

/** The days of the dashboard's chart. */
export const HistoryDays = 30

const sets = {
  retries: { name: "retry", api: Inspection.RetrySet },
  scheduled: { name: "schedule", api: Inspection.ScheduledSet },
  dead: { name: "dead", api: Inspection.DeadSet },
} as const

/** A stored entry as the dashboard shows it; the payload's text is kept for the detail view. */
export const view = (entry: Inspection.Entry, at?: number): JobView => {
  const payload = Payload.display(entry.raw)
  if (Result.isFailure(entry.job)) {
    return {
      jid: Job.jidOf(entry.raw) ?? "",
      class: "",
      queue: Job.queueOf(entry.raw) ?? "",
      args: [],
      at,
      malformed: entry.job.failure.reason,
      payload,
    }
  }
  const job = entry.job.success
  return {
    jid: job.jid,
    class: job.class,
    queue: job.queue,
    args: job.args,
    at,
    createdAt: job.created_at,
    enqueuedAt: job.enqueued_at,
    failedAt: job.failed_at,
    retriedAt: job.retried_at,
    retryCount: job.retry_count,
    errorClass: job.error_class,
    errorMessage: job.error_message,
    backtrace: job.error_backtrace,
    payload,
  }
}

const pageBounds = (page: number | undefined, size: number | undefined) => {
  const p = page ?? 1
  const s = size ?? DefaultPageSize
  return { page: p, size: s, start: (p - 1) * s }
}

/** What the dashboard's front page shows (see `Overview`). */
export const overview = Effect.fn("Admin.overview")(function* () {
  const store = yield* Store.Store
  const totals = yield* store.stats()
  const names = yield* store.queues
  const sizes = yield* Effect.forEach(names, (name) => store.queueSize(name))
  const processes = yield* Inspection.processes
  return {
    ...totals,
    enqueued: sizes.reduce((sum, size) => sum + size, 0),
    retries: yield* store.setSize("retry"),
    scheduled: yield* store.setSize("schedule"),
    dead: yield* store.setSize("dead"),
    busy: processes.reduce((sum, process) => sum + process.busy, 0),
    nodes: processes.length,
    history: yield* Inspection.history(HistoryDays),
  } satisfies Overview
})

/** Queues pushed to, and paused ones that are empty: a paused queue must stay visible to be resumed. */
const queueNames = Effect.gen(function* () {
  const store = yield* Store.Store
  const paused = yield* store.pausedQueues
  return { names: [...new Set([...(yield* store.queues), ...paused])].sort(), paused }
})

/**
 * Every queue, by name, with its size, its latency and whether it is paused: the queues pushed to,
 * and paused ones even when empty.
 */
export const queues = Effect.fn("Admin.queues")(function* () {
  const store = yield* Store.Store
  const { names, paused } = yield* queueNames
  return yield* Effect.forEach(names, (name) =>
    Effect.all({ size: store.queueSize(name), latency: Inspection.latency(name) }).pipe(
      Effect.map(({ size, latency }) => ({ name, size, latency, paused: paused.has(name) })),
    ),
  )
})

const knownQueue = Effect.fn("Admin.knownQueue")(function* (queue: string) {
  const { names } = yield* queueNames
  if (!names.includes(queue)) return yield* new NotFound({ message: `no queue named ${JSON.stringify(queue)}` })
})

/** A queue's jobs, newest first (Redis LRANGE order, as Sidekiq Web shows them). */
export const queueJobs = Effect.fn("Admin.queueJobs")(function* (queue: string, page?: number, size?: number) {
  yield* knownQueue(queue)
  const bounds = pageBounds(page, size)
  const total = yield* Inspection.Queue.size(queue)
  const entries = yield* Inspection.Queue.range(queue, bounds.start, bounds.start + bounds.size - 1)
  return { total, page: bounds.page, size: bounds.size, jobs: entries.map((entry) => view(entry)) } satisfies JobPage
})

/** Pauses or resumes a known queue on every node (stored, and announced to the nodes). */
export const setPaused = Effect.fn("Admin.setPaused")(function* (queue: string, paused: boolean) {
  yield* knownQueue(queue)
  yield* Store.Store.use((store) => store.setPaused(queue, paused))
  return { ok: true }
})

/** Deletes every job of a known queue. */
export const clearQueue = Effect.fn("Admin.clearQueue")(function* (queue: string) {
  yield* knownQueue(queue)
  yield* Inspection.Queue.clear(queue)
  return { ok: true }
})

/**
 * Runs `action` on each jid; jids it did not find are `missing`. When none was found the request
 * failed as a whole: 404, naming them (the page was stale, or someone else acted first).
 */
const eachJid = <E, R>(
  jids: ReadonlyArray<string>,
  where: string,
  action: (jid: string) => Effect.Effect<boolean, E, R>,
): Effect.Effect<Done, E | NotFound, R> =>
  Effect.gen(function* () {
    const missing: Array<string> = []
    let count = 0
    for (const jid of jids) {
      if (yield* action(jid)) count++
      else missing.push(jid)
    }
    if (count === 0) {
      return yield* new NotFound({ message: `no job ${missing.join(", ")} in ${where} (it may have moved meanwhile)` })
    }
    return { count, missing }
  })

/** Deletes jobs from a known queue by jid (see `eachJid` for the jids not found). */
export const deleteFromQueue = (queue: string, jids: ReadonlyArray<string>) =>
  Effect.andThen(
    knownQueue(queue),
    eachJid(jids, `queue ${queue}`, (jid) => Inspection.Queue.delete(queue, jid)),
  )

/**
 * A set's jobs. Retries and scheduled jobs come in the order they run; dead jobs newest first, as
 * Sidekiq Web shows them. A filter (class, or a jid or part of one) scans the whole set.
 */
export const setJobs = Effect.fn("Admin.setJobs")(function* (
  set: SetName,
  options: {
    readonly page?: number | undefined
    readonly size?: number | undefined
    readonly class?: string | undefined
    readonly jid?: string | undefined
  },
) {
  const { api } = sets[set]
  const bounds = pageBounds(options.page, options.size)
  const newestFirst = set === "dead"
  const className = options.class?.trim() || undefined
  const jid = options.jid?.trim() || undefined
  if (className === undefined && jid === undefined) {
    const total = yield* api.size
    const entries = newestFirst
      ? (yield* api.range(-(bounds.start + bounds.size), -(bounds.start + 1))).toReversed()
      : yield* api.range(bounds.start, bounds.start + bounds.size - 1)
    return {
      total,
      page: bounds.page,
      size: bounds.size,
      jobs: entries.map((entry) => view(entry, entry.score)),
    } satisfies JobPage
  }
  const all = yield* api.range(0, -1)
  const matching = (newestFirst ? all.toReversed() : all)
    .map((entry) => view(entry, entry.score))
    .filter(
      (job) => (className === undefined || job.class === className) && (jid === undefined || job.jid.includes(jid)),
    )
  return {
    total: matching.length,
    page: bounds.page,
    size: bounds.size,
    jobs: matching.slice(bounds.start, bounds.start + bounds.size),
  } satisfies JobPage
})

/** One job of a set, by jid; `NotFound` when the set no longer holds it. */
export const setJob = Effect.fn("Admin.setJob")(function* (set: SetName, jid: string) {
  const found = yield* sets[set].api.find(jid)
  if (found === undefined)
    return yield* new NotFound({ message: `no job ${jid} in ${set} (it may have moved meanwhile)` })
  return view(found, found.score)
})

/** Retries now: to its queue, `enqueued_at` stamped, the rest of the job byte for byte. */
export const retry = (set: SetName, jids: ReadonlyArray<string>) => eachJid(jids, set, sets[set].api.requeueNow)

/** Deletes jobs from a set by jid. */
export const remove = (set: SetName, jids: ReadonlyArray<string>) => eachJid(jids, set, sets[set].api.delete)

/** Moves jobs from the retry or schedule set to dead; a dead job cannot be killed (`BadRequest`). */
export const kill = Effect.fn("Admin.kill")(function* (set: SetName, jids: ReadonlyArray<string>) {
  const name = sets[set].name
  if (name === "dead") return yield* new BadRequest({ message: "a dead job cannot be killed: retry or delete it" })
  return yield* eachJid(jids, set, (jid) => Inspection.kill(name, jid))
})

/** Retries every job of a set now (each only if still there, byte for byte). */
export const retryAll = Effect.fn("Admin.retryAll")(function* (set: SetName) {
  const count = yield* sets[set].api.requeueAll()
  return { count, missing: [] } satisfies Done
})

/** Deletes every job of a set; the count is the set's size just before. */
export const deleteAll = Effect.fn("Admin.deleteAll")(function* (set: SetName) {
  const { api } = sets[set]
  const count = yield* api.size
  yield* api.clear
  return { count, missing: [] } satisfies Done
})

/** The live nodes, each with its heartbeat. */
export const nodes = Effect.map(Inspection.processes, (processes) => processes.map((process) => ({ ...process })))
