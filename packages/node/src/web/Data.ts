/**
 * What Verk Web reads and changes, through core's `Inspection` and the `Store` (never Redis
 * directly, so it works on every store): shared by the JSON API handlers and the pages. Failures a
 * user can cause (an unknown queue, a job that vanished meanwhile, killing a dead job) are the
 * API's typed errors.
 */
import { Inspection, Job, Payload, Store } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { BadRequest, type Done, type JobPage, type JobView, NotFound, type Overview, type SetName } from "./Api.ts"

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

export const overview = Effect.fn("Web.overview")(function* () {
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

export const queues = Effect.fn("Web.queues")(function* () {
  const store = yield* Store.Store
  const { names, paused } = yield* queueNames
  return yield* Effect.forEach(names, (name) =>
    Effect.all({ size: store.queueSize(name), latency: Inspection.latency(name) }).pipe(
      Effect.map(({ size, latency }) => ({ name, size, latency, paused: paused.has(name) })),
    ),
  )
})

const knownQueue = Effect.fn("Web.knownQueue")(function* (queue: string) {
  const { names } = yield* queueNames
  if (!names.includes(queue)) return yield* new NotFound({ message: `no queue named ${JSON.stringify(queue)}` })
})

/** A queue's jobs, newest first (Redis LRANGE order, as Sidekiq Web shows them). */
export const queueJobs = Effect.fn("Web.queueJobs")(function* (queue: string, page?: number, size?: number) {
  yield* knownQueue(queue)
  const bounds = pageBounds(page, size)
  const total = yield* Inspection.Queue.size(queue)
  const entries = yield* Inspection.Queue.range(queue, bounds.start, bounds.start + bounds.size - 1)
  return { total, page: bounds.page, size: bounds.size, jobs: entries.map((entry) => view(entry)) } satisfies JobPage
})

export const setPaused = Effect.fn("Web.setPaused")(function* (queue: string, paused: boolean) {
  yield* knownQueue(queue)
  yield* Store.Store.use((store) => store.setPaused(queue, paused))
  return { ok: true }
})

export const clearQueue = Effect.fn("Web.clearQueue")(function* (queue: string) {
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

export const deleteFromQueue = (queue: string, jids: ReadonlyArray<string>) =>
  Effect.andThen(
    knownQueue(queue),
    eachJid(jids, `queue ${queue}`, (jid) => Inspection.Queue.delete(queue, jid)),
  )

/**
 * A set's jobs. Retries and scheduled jobs come in the order they run; dead jobs newest first, as
 * Sidekiq Web shows them. A filter (class, or a jid or part of one) scans the whole set.
 */
export const setJobs = Effect.fn("Web.setJobs")(function* (
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

export const setJob = Effect.fn("Web.setJob")(function* (set: SetName, jid: string) {
  const found = yield* sets[set].api.find(jid)
  if (found === undefined)
    return yield* new NotFound({ message: `no job ${jid} in ${set} (it may have moved meanwhile)` })
  return view(found, found.score)
})

/** Retries now: to its queue, `enqueued_at` stamped, the rest of the job byte for byte. */
export const retry = (set: SetName, jids: ReadonlyArray<string>) => eachJid(jids, set, sets[set].api.requeueNow)

export const remove = (set: SetName, jids: ReadonlyArray<string>) => eachJid(jids, set, sets[set].api.delete)

export const kill = Effect.fn("Web.kill")(function* (set: SetName, jids: ReadonlyArray<string>) {
  const name = sets[set].name
  if (name === "dead") return yield* new BadRequest({ message: "a dead job cannot be killed: retry or delete it" })
  return yield* eachJid(jids, set, (jid) => Inspection.kill(name, jid))
})

export const retryAll = Effect.fn("Web.retryAll")(function* (set: SetName) {
  const count = yield* sets[set].api.requeueAll()
  return { count, missing: [] } satisfies Done
})

export const deleteAll = Effect.fn("Web.deleteAll")(function* (set: SetName) {
  const { api } = sets[set]
  const count = yield* api.size
  yield* api.clear
  return { count, missing: [] } satisfies Done
})

export const nodes = Effect.map(Inspection.processes, (processes) => processes.map((process) => ({ ...process })))
