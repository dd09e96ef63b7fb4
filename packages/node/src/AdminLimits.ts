/**
 * The limits in use (see Limits.ts in @verk/core), as `verk limits` and Verk Web's Limits page
 * (and its `GET /api/limits`) show them: each budget in use with its use, and for a concurrency
 * budget who holds its slots (node, queue, the run's token, and the job of that run when its
 * in-progress entry is still there). Kept beside Admin.ts rather than in it: one view, one file.
 *
 * Limits are code, not data: the store keeps their use only. A budget's `limit` and window come
 * from the limits the caller declares (`limits(declared)`), absent for a budget none of them names.
 */
import { Job, type Limits, Store, type Worker } from "@verk/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"

/** One run holding a slot of a concurrency budget. */
export const LimitHolder = Schema.Struct({
  /** The node (worker process) running it. */
  node: Schema.String,
  /** The queue it was fetched from, and its in-progress token, read from the holder's name. */
  queue: Schema.optional(Schema.String),
  token: Schema.optional(Schema.String),
  /** The job of that run, while its in-progress entry is there. */
  jid: Schema.optional(Schema.String),
  class: Schema.optional(Schema.String),
})
/** The type of `LimitHolder`. */
export type LimitHolder = typeof LimitHolder.Type

/** One budget of a limit in use. */
export const LimitView = Schema.Struct({
  kind: Schema.Literals(["rate", "concurrency"]),
  /** The limit's name, and its key when it has one (`<name>:<key>`). */
  budget: Schema.String,
  /** The declared limit this budget belongs to, when one is known. */
  name: Schema.optional(Schema.String),
  /** Rate: the starts in its window; concurrency: the slots held. */
  used: Schema.Number,
  /** The declared limit's most starts per window, or most runs at once. */
  limit: Schema.optional(Schema.Number),
  /** A rate limit's window in milliseconds, when declared. */
  windowMillis: Schema.optional(Schema.Number),
  /** Concurrency: the node of each slot held; rate: none. */
  nodes: Schema.Array(Schema.String),
  /** Concurrency: who holds its slots; rate: none. */
  holders: Schema.Array(LimitHolder),
})
/** The type of `LimitView`. */
export type LimitView = typeof LimitView.Type

/** Any worker's or queue's limit (its `keyOf` is a method, so a limit of any args fits). */
export type AnyLimit = Limits.Limit<never>

/** The limits of `workers` and of the queues (`queueLimits`, as `Verk.layer` takes them). */
export const limitsOf = (
  workers: ReadonlyArray<Worker.AnyWorker<unknown>>,
  queueLimits: Limits.QueueLimitsShape = {},
): ReadonlyArray<AnyLimit> => [
  ...workers.flatMap((worker) => worker.limits ?? []),
  ...Object.values(queueLimits).flat(),
]

/** The declared limit a budget belongs to: its name, or `<name>:<key>` for a keyed one (the longest name wins). */
export const declaredOf = (
  declared: ReadonlyArray<AnyLimit>,
  kind: LimitView["kind"],
  budget: string,
): AnyLimit | undefined => {
  let found: AnyLimit | undefined
  for (const limit of declared) {
    if ((limit._tag === "Rate") !== (kind === "rate")) continue
    const names = limit.name === budget || (limit.keyOf !== undefined && budget.startsWith(`${limit.name}:`))
    if (names && (found === undefined || limit.name.length > found.name.length)) found = limit
  }
  return found
}

/** A holder's name (`<node>:<queue>:<token>`, see Admission.ts) read back: its queue and token. */
const holderParts = (holder: string, node: string): { readonly queue?: string; readonly token?: string } => {
  if (!holder.startsWith(`${node}:`)) return {}
  const rest = holder.slice(node.length + 1)
  // A token has no ":", a queue may.
  const cut = rest.lastIndexOf(":")
  return cut <= 0 ? {} : { queue: rest.slice(0, cut), token: rest.slice(cut + 1) }
}

/**
 * Every budget in use, by kind and budget (`Store.LimitStore.limitUsage`), with its declared
 * limit and window when `declared` names it, and a concurrency budget's holders. Fails with the
 * store's error on a Redis Cluster (its keys are spread over the shards).
 */
export const limits: (
  declared?: ReadonlyArray<AnyLimit>,
) => Effect.Effect<ReadonlyArray<LimitView>, Store.StoreError, Store.LimitStore | Store.JobStore> = Effect.fn(
  "Admin.limits",
)(function* (declared: ReadonlyArray<AnyLimit> = []) {
  const limitStore = yield* Store.LimitStore
  const jobStore = yield* Store.JobStore
  const usage = yield* limitStore.limitUsage
  // One read of a node's in-progress entries of a queue, however many slots its runs hold.
  const entries = new Map<string, Map<string, string>>()
  const entriesOf = Effect.fnUntraced(function* (queue: string, node: string) {
    const key = JSON.stringify([queue, node])
    const known = entries.get(key)
    if (known !== undefined) return known
    const jobs = new Map((yield* jobStore.inProgress(queue, node)).map((job) => [job.token, job.raw] as const))
    entries.set(key, jobs)
    return jobs
  })
  return yield* Effect.forEach(usage, (entry) =>
    Effect.gen(function* () {
      const limit = declaredOf(declared, entry.kind, entry.budget)
      const known = {
        ...(limit === undefined ? {} : { name: limit.name, limit: limit.limit }),
        ...(limit?._tag === "Rate" ? { windowMillis: Duration.toMillis(limit.per) } : {}),
      }
      if (entry.kind === "rate") return { ...entry, ...known, nodes: [], holders: [] } satisfies LimitView
      const holds = yield* limitStore.holders(entry.budget)
      const holders = yield* Effect.forEach(holds, ({ holder, node }) =>
        Effect.gen(function* () {
          const parts = holderParts(holder, node)
          if (parts.queue === undefined || parts.token === undefined) return { node, ...parts }
          const raw = (yield* entriesOf(parts.queue, node)).get(parts.token)
          if (raw === undefined) return { node, ...parts }
          const job = Job.decodeResult(raw)
          const jid = Result.isSuccess(job) ? job.success.jid : Job.jidOf(raw)
          return {
            node,
            ...parts,
            ...(jid === undefined ? {} : { jid }),
            ...(Result.isSuccess(job) ? { class: job.success.class } : {}),
          }
        }),
      )
      // The holders read now: what the page lists and counts agree.
      return {
        ...entry,
        ...known,
        used: holders.length,
        nodes: holders.map((holder) => holder.node),
        holders,
      } satisfies LimitView
    }),
  )
})
