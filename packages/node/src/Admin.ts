/**
 * Verk's administration: what the `verk` commands (`stats`, `queue`, `jobs`) and Verk Web (its
 * JSON API and its pages) read and change, through core's `Inspection` and the `Store` (never Redis
 * directly, so it works on every store). Neither CLI nor web: the shapes it returns are Schemas
 * (the dashboard's API serves them as they are), and the failures a user can cause (an unknown
 * queue, a job that vanished meanwhile, killing a dead job) are typed errors, which carry the HTTP
 * status the API answers them with as an annotation (no HTTP module is loaded for it).
 */
import { Inspection, Job, Payload, Store } from "@verk/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as EntryRef from "./EntryRef.ts"

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
  /**
   * A set entry's reference (`@<score>~<digest>`, see EntryRef.ts): it names exactly this entry,
   * whatever its payload holds, wherever a jid is taken (the API's `jids`, its job address, the CLI).
   */
  ref: Schema.optional(Schema.String),
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
  /** The payload's text (bytes that are not UTF-8 shown as U+FFFD). */
  payload: Schema.String,
  /** The base64 of the payload's exact bytes, when they are not UTF-8 text. */
  bytes: Schema.optional(Schema.String),
})
export type JobView = typeof JobView.Type

/** One page of a queue's or a set's jobs. */
export const JobPage = Schema.Struct({
  /** Jobs over every page; for a filtered page, the jobs in the set (which the filter scans). */
  total: Schema.Number,
  page: Schema.Number,
  size: Schema.Number,
  jobs: Schema.Array(JobView),
  /** A filtered page: its jobs are the first matches the scan met from where it started. */
  filtered: Schema.optional(Schema.Boolean),
  /** A filtered page that stopped before the end of the set: more may match from this cursor on. */
  next: Schema.optional(Schema.String),
})
export type JobPage = typeof JobPage.Type

/** A job a node is running now. */
export const Work = Schema.Struct({
  queue: Schema.String,
  jid: Schema.optional(Schema.String),
  class: Schema.optional(Schema.String),
  args: Schema.optional(Schema.Array(Schema.Unknown)),
  runAt: Schema.Number,
  /** The job's last progress report, when it made one. */
  progress: Schema.optional(Schema.Struct({ percent: Schema.Number, message: Schema.optional(Schema.String) })),
})

/** A node's pool, as its heartbeat lists it: a queue of its own is a pool of one. */
export const PoolInfo = Schema.Struct({
  name: Schema.String,
  /** In strict order, or in the order of `weights`. */
  queues: Schema.Array(Schema.String),
  /** Each queue's weight, in `queues`' order; absent for a strict order. */
  weights: Schema.optional(Schema.Array(Schema.Number)),
  concurrency: Schema.Number,
})

/** A live node (a worker process) as its heartbeat describes it: its queues and pools, what it runs now. */
export const NodeInfo = Schema.Struct({
  identity: Schema.String,
  hostname: Schema.optional(Schema.String),
  pid: Schema.optional(Schema.Number),
  queues: Schema.Array(Schema.String),
  /** Its pools; empty for a node that lists none (Sidekiq's own). */
  pools: Schema.Array(PoolInfo),
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

/** A set's entry as the dashboard shows it: `view`, its time and its reference. */
export const scoredView = (entry: Inspection.ScoredEntry): JobView => ({
  ...view(entry, entry.score),
  ref: EntryRef.of(entry),
})

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
      bytes: Payload.text(entry.raw) === undefined ? Payload.base64(entry.raw) : undefined,
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

/**
 * What every page's navigation counts: the sets' sizes and the busy workers. A few commands, not
 * the front page's overview (whose 30 days of counters are 30 more round trips per page).
 */
export const navCounts = Effect.fn("Admin.navCounts")(function* () {
  const store = yield* Store.Store
  const processes = yield* Inspection.processes
  return {
    retries: yield* store.setSize("retry"),
    scheduled: yield* store.setSize("schedule"),
    dead: yield* store.setSize("dead"),
    busy: processes.reduce((sum, process) => sum + process.busy, 0),
  }
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
  const jobs = entries.map((entry, index) => ({
    ...view(entry),
    ref: EntryRef.ofQueued(bounds.start + index, entry.raw),
  }))
  return { total, page: bounds.page, size: bounds.size, jobs } satisfies JobPage
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

/**
 * Deletes jobs from a known queue by jid or entry reference (see `eachJid` for those not found):
 * one occurrence of the exact value (LREM 1).
 */
export const deleteFromQueue = (queue: string, keys: ReadonlyArray<string>) =>
  Effect.andThen(
    knownQueue(queue),
    eachJid(keys, `queue ${queue}`, (key) =>
      EntryRef.isRef(key)
        ? Effect.flatMap(
            EntryRef.findQueued((start, stop) => Inspection.Queue.range(queue, start, stop), key),
            (raw) =>
              raw === undefined ? Effect.succeed(false) : Store.Store.use((store) => store.deleteFromQueue(queue, raw)),
          )
        : Inspection.Queue.delete(queue, key),
    ),
  )

/** Members a filter's scan step looks at: decoding them takes a few milliseconds at most. */
const FilterStep = 200

/**
 * How long one filtered request scans before it answers with what it found and a cursor to go
 * on from: a filter that matches little in a large set must not keep a request (or the node it
 * runs beside) busy for seconds.
 */
const FilterBudgetMillis = 150

/**
 * A filter's cursor: how many members of the scan step at `cursor` were looked at already (on the
 * page before), and the step's cursor.
 */
const parseFilterCursor = (text: string | undefined) => {
  const dot = text?.indexOf(".") ?? -1
  if (text === undefined || dot < 0) return { skip: 0, cursor: "0" }
  const skip = Number(text.slice(0, dot))
  return { skip: Number.isInteger(skip) && skip >= 0 ? skip : 0, cursor: text.slice(dot + 1) || "0" }
}

/** The text a matching member's JSON holds (a JSON string's inside), for the store's prefilter. */
const jsonText = (value: string) => JSON.stringify(value).slice(1, -1)

/**
 * The first `size` jobs of a set matching a filter, scanned with a cursor in bounded steps (each
 * step's prefilter lets through only members holding the filter's text; each candidate is then
 * checked decoded), from `cursor` on. It answers as soon as the page is full, or when its time is
 * up, with `next` when more may match.
 */
const filteredJobs = Effect.fn("Admin.filteredJobs")(function* (
  set: SetName,
  filter: { readonly class: string | undefined; readonly jid: string | undefined },
  size: number,
  from: string | undefined,
) {
  const { api } = sets[set]
  const matches = (job: JobView) =>
    (filter.class === undefined || job.class === filter.class) &&
    (filter.jid === undefined || job.jid.includes(filter.jid))
  const contains = filter.class !== undefined ? jsonText(filter.class) : jsonText(filter.jid ?? "")
  const started = yield* Clock.currentTimeMillis
  let { skip, cursor } = parseFilterCursor(from)
  const jobs: Array<JobView> = []
  let next: string | undefined
  while (true) {
    const step = yield* api.scan(cursor, FilterStep, contains)
    // Decoded one by one, and only until the page is full: the rest of the step waits for `next`.
    let index = skip
    for (; index < step.entries.length && jobs.length < size; index++) {
      const job = scoredView(Inspection.decodeScored(step.entries[index]!))
      if (matches(job)) jobs.push(job)
    }
    if (index < step.entries.length) {
      next = `${index}.${cursor}`
      break
    }
    if (step.cursor === "0") break
    cursor = step.cursor
    skip = 0
    if (jobs.length >= size || (yield* Clock.currentTimeMillis) - started >= FilterBudgetMillis) {
      next = `0.${cursor}`
      break
    }
    // Between steps, let the node's other fibers (its heartbeat, its jobs) run.
    yield* Effect.yieldNow
  }
  // Time order within the page, as the set's pages show it (dead: newest first).
  jobs.sort((a, b) => (set === "dead" ? (b.at ?? 0) - (a.at ?? 0) : (a.at ?? 0) - (b.at ?? 0)))
  return { jobs, next }
})

/**
 * A set's jobs. Retries and scheduled jobs come in the order they run; dead jobs newest first, as
 * Sidekiq Web shows them. A filter (class, or a jid or part of one) scans the set with a cursor
 * in bounded steps (`filteredJobs`), from `cursor` when given (a page's `next`).
 */
export const setJobs = Effect.fn("Admin.setJobs")(function* (
  set: SetName,
  options: {
    readonly page?: number | undefined
    readonly size?: number | undefined
    readonly class?: string | undefined
    readonly jid?: string | undefined
    readonly cursor?: string | undefined
  },
) {
  const { api } = sets[set]
  const bounds = pageBounds(options.page, options.size)
  const newestFirst = set === "dead"
  const className = options.class?.trim() || undefined
  const jid = options.jid?.trim() || undefined
  const total = yield* api.size
  if (className === undefined && jid === undefined) {
    const entries = newestFirst
      ? (yield* api.range(-(bounds.start + bounds.size), -(bounds.start + 1))).toReversed()
      : yield* api.range(bounds.start, bounds.start + bounds.size - 1)
    return { total, page: bounds.page, size: bounds.size, jobs: entries.map(scoredView) } satisfies JobPage
  }
  const { jobs, next } = yield* filteredJobs(set, { class: className, jid }, bounds.size, options.cursor)
  return { total, page: bounds.page, size: bounds.size, jobs, filtered: true, next } satisfies JobPage
})

/** The entry a key names in a set: an entry reference (`@...`, see EntryRef.ts), else a jid. */
const findEntry = (set: SetName, key: string) =>
  EntryRef.isRef(key) ? EntryRef.find(sets[set].api, key) : sets[set].api.find(key)

/** One job of a set, by jid or entry reference; `NotFound` when the set no longer holds it. */
export const setJob = Effect.fn("Admin.setJob")(function* (set: SetName, key: string) {
  const found = yield* findEntry(set, key)
  if (found === undefined)
    return yield* new NotFound({ message: `no job ${key} in ${set} (it may have moved meanwhile)` })
  return scoredView(found)
})

/** Runs `action` on the entry each key names, if still there (see `eachJid`). */
const eachEntry = <E, R>(
  set: SetName,
  keys: ReadonlyArray<string>,
  action: (entry: Inspection.ScoredEntry) => Effect.Effect<boolean, E, R>,
) =>
  eachJid(keys, set, (key) =>
    Effect.flatMap(findEntry(set, key), (found) => (found === undefined ? Effect.succeed(false) : action(found))),
  )

/**
 * Retries now: to its queue, `enqueued_at` stamped, the rest of the job byte for byte (by jid or
 * entry reference). An entry that is not a job cannot run: it stays, and counts as missing; when
 * every one named is such an entry, the request is a `BadRequest` saying so.
 */
export const retry = Effect.fn("Admin.retry")(function* (set: SetName, keys: ReadonlyArray<string>) {
  const unrunnable: Array<string> = []
  return yield* eachEntry(set, keys, (entry) => {
    if (Result.isSuccess(entry.job)) return sets[set].api.requeueEntry(entry)
    unrunnable.push(entry.job.failure.reason)
    return Effect.succeed(false)
  }).pipe(
    Effect.catchTag(
      "NotFound",
      (error): Effect.Effect<never, NotFound | BadRequest> =>
        unrunnable.length === keys.length
          ? Effect.fail(
              new BadRequest({ message: `not a job, so it cannot run (${unrunnable.join("; ")}): delete it instead` }),
            )
          : Effect.fail(error),
    ),
  )
})

/** Deletes exactly the entries named (by jid or entry reference) from a set. */
export const remove = (set: SetName, keys: ReadonlyArray<string>) => eachEntry(set, keys, sets[set].api.deleteEntry)

/** Moves jobs from the retry or schedule set to dead; a dead job cannot be killed (`BadRequest`). */
export const kill = Effect.fn("Admin.kill")(function* (set: SetName, keys: ReadonlyArray<string>) {
  const name = sets[set].name
  if (name === "dead") return yield* new BadRequest({ message: "a dead job cannot be killed: retry or delete it" })
  return yield* eachEntry(set, keys, (entry) => Inspection.killEntry(name, entry))
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
