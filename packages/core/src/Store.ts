/**
 * The store contract: every operation the runtime and the inspection API need, typed, with
 * Sidekiq's and Verk's Redis semantics. `RedisStore` (package @verk/redis) and `MemoryStore`
 * implement it and pass the same conformance suite.
 *
 * The contract comes in roles, each a service of its own: `JobStore` (a job's path and its
 * recovery), `SetStore` (sorted sets with scheduling's reads and moves, queue and set admin,
 * stats), `NodeStore` (heartbeats and the node registry), `NotificationStore` (notifications and
 * pauses), `PeriodicStore` (periodic entries, see Periodic.ts), `ResultStore` (job results and
 * word of them, see JobResult.ts), `CancelStore` (cancel requests, see Cancel.ts) and `LimitStore`
 * (rate and concurrency limits, see Limits.ts). `Store` is
 * their aggregate (`StoreShape` is the intersection): a store is built as one value, and its layer
 * provides the aggregate and the roles over it (`layer`). The roles share one module, the data
 * types below and the aggregate, so that `Store.JobStore`... sit beside `Store.Store`.
 *
 * Payloads travel as the raw strings read from the store: the raw string is a job's identity for
 * removal from a queue or a set, so a job is never re-serialised to find it again. A job in a
 * node's in-progress entries is found by the token its fetch gave it, so that writing its outcome
 * costs the same whatever the payload's size. A payload whose bytes are not UTF-8
 * travels in Payload's binary form, which a store turns back into the exact bytes whenever it
 * writes or looks for that payload (see Payload.ts). Times are passed in as epoch milliseconds by
 * callers that read them from `Clock`.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import { LimitStore, type LimitStoreShape } from "./LimitStore.ts"
import { PeriodicStore, type PeriodicStoreShape } from "./PeriodicStore.ts"
import type { StoreError } from "./StoreError.ts"
import type * as Unique from "./Unique.ts"

// Roles whose data types have a module of their own, re-exported here beside the others.
export * from "./LimitStore.ts"
export * from "./PeriodicStore.ts"
export { StoreError, type StoreErrorReason } from "./StoreError.ts"

/** The sorted sets of Sidekiq's data model. */
export type SortedSetName = "schedule" | "retry" | "dead"

/** A member of a sorted set, with its score. */
export interface ScoredPayload {
  readonly payload: string
  /** Epoch seconds, as Sidekiq scores them. */
  readonly score: number
}

/** One step of a cursor scan of a sorted set (`scanSet`). */
export interface SetScanStep {
  /** Where the next step starts; `"0"` when the scan is done. */
  readonly cursor: string
  /** Members seen in this step, in no particular order (a member may come twice in one scan). */
  readonly entries: ReadonlyArray<ScoredPayload>
}

/** A job to move out of a sorted set: to its queue, or (if it cannot run) to dead. */
export interface Promotion {
  /** The member as it is in the set. */
  readonly raw: string
  /** What to write instead: the job stamped with `enqueued_at`, or a dead-set entry. */
  readonly payload: string
  /** The queue to push to; `undefined` sends `payload` to the dead set. */
  readonly queue: string | undefined
}

/** How the dead set is trimmed (Sidekiq: 10,000 jobs, 180 days). */
export interface DeadSetLimits {
  /** Keep at most this many dead jobs (oldest go first). */
  readonly maxJobs: number
  /** Drop dead jobs that died more than this many seconds ago. */
  readonly maxAgeSeconds: number
}

/** Sidekiq's counters: jobs processed (failures included) and failed. */
export interface StatsTotals {
  readonly processed: number
  readonly failed: number
}

/**
 * What a store tells running nodes, so that they wake at once instead of polling hard: work was
 * pushed to a queue (enqueue, promotion, requeue), a queue was paused or resumed, or the
 * `schedule`/`retry` sets changed. Foreign clients (a bare LPUSH) send nothing: the poll
 * interval covers them.
 */
export type Notification =
  | { readonly _tag: "Work"; readonly queue: string }
  | { readonly _tag: "Pause"; readonly queue: string }
  | { readonly _tag: "Scheduled" }
  /** A job was cancelled (see Cancel.ts): the node running it interrupts it. */
  | { readonly _tag: "Cancel"; readonly jid: string }
  /**
   * The subscription is live again after a reconnect: anything published meanwhile was missed,
   * so listeners look at everything once. A store that never loses its subscription never says it.
   */
  | { readonly _tag: "Resubscribed" }

/**
 * How long a store remembers an enqueue's token: a call repeated with the same token within this
 * time (a command resent after a lost reply, a caller's retry) pushes nothing. ioredis gives up on
 * a command after 20 reconnect attempts (under 10 s with our backoff), so a resend comes well
 * within a minute; a longer memory would only cost Redis memory (one key per call).
 */
export const EnqueueTokenSeconds = 60

/** One heartbeat of a node: Verk's liveness key and Sidekiq's process registry entry. */
export interface Heartbeat {
  readonly node: string
  /** The node counts as dead once this long passes without another heartbeat. */
  readonly ttlMillis: number
  /** Epoch milliseconds, from `Clock`. */
  readonly now: number
  /** Sidekiq's `info` JSON for its web UI. */
  readonly info: string
  readonly busy: number
  /** Resident set size in KB (Sidekiq's `rss`, which its web UI shows); 0 or absent when unknown. */
  readonly rss?: number | undefined
  /** Sidekiq's `<identity>:work` (7+) and `<identity>:workers` (6) entries: field → JSON. */
  readonly work: ReadonlyArray<readonly [string, string]>
}

/** A live node in Sidekiq's process registry, as its last heartbeat wrote it. */
export interface ProcessEntry {
  readonly identity: string
  /** Sidekiq's `info` JSON, as written. */
  readonly info: string
  readonly busy: number
  /** Epoch seconds of the last heartbeat. */
  readonly beat: number
  /** Resident set size in KB (Sidekiq's `rss`); absent or 0 when unknown. */
  readonly rss?: number | undefined
  /** Sidekiq's `<identity>:work` entries: field → JSON. */
  readonly work: ReadonlyArray<readonly [string, string]>
}

/** A job in a node's in-progress entries: its payload, under the token its fetch gave it. */
export interface InProgressJob {
  /** Unique among the node's in-progress entries of the queue; later fetches give larger ones. */
  readonly token: string
  readonly raw: string
}

/** One recovery batch of a dead node's in-progress entries. */
export interface RecoveredBatch {
  /** Jobs taken from the entries: requeued, or poison pills. */
  readonly taken: number
  /**
   * Jobs that came back from dead nodes more than the limit. They stay in the dead node's
   * entries for the caller to `kill` with their reason.
   */
  readonly poisoned: ReadonlyArray<InProgressJob>
}

/** What a fetch took. */
export interface Fetched {
  /** Oldest first, each under its token. */
  readonly jobs: ReadonlyArray<InProgressJob>
  /** The one job taken came back from a dead node: it must run alone on this node. */
  readonly isolated: boolean
  /** A job that came back from a dead node waits first in the queue for an idle node. */
  readonly blocked: boolean
  /** The queue is paused (`setPaused`): nothing was taken. */
  readonly paused: boolean
}

// ---------------------------------------------------------------------------------------------
// Roles. A runtime module yields only the roles it touches, so its dependencies say what it does
// to the store; a store is built as one value and provides all four and the aggregate (`layer`).
// ---------------------------------------------------------------------------------------------

/**
 * A job's path and its recovery: how a job gets in (`enqueue`, and `addScheduled`, which the
 * client writes beside `enqueue`), is taken, ends (`ack`, `retry`, `kill`) and comes back when a
 * node stops or dies.
 */
export interface JobStoreShape {
  /**
   * LPUSH payloads onto `queue:<queue>` and add the queue to `queues`: one round trip. Idempotent
   * per queue and `token`: a call whose token was used on that queue in the last
   * `EnqueueTokenSeconds` pushes nothing (a token is one call's, so one queue's). A
   * call without one gets a fresh token of its own (the Redis store: so that a resent command does
   * not push twice).
   */
  readonly enqueue: (
    queue: string,
    payloads: ReadonlyArray<string>,
    token?: string | undefined,
  ) => Effect.Effect<void, StoreError>
  /** ZADD entries to the `schedule` or `retry` set. */
  readonly addScheduled: (
    set: "schedule" | "retry",
    entries: ReadonlyArray<ScoredPayload>,
  ) => Effect.Effect<void, StoreError>
  /**
   * Atomically move up to `count` of the oldest jobs of `queue` into `node`'s in-progress entries
   * for it, each under a fresh token, and return them oldest first. `count` ≤ 0 takes nothing. A
   * suspect, a job that came back from dead nodes at least `suspectFrom` times (default 1; it may
   * be the poison pill that killed them), is taken only alone, and only when `isolate` says this
   * node is idle; otherwise it ends the batch and stays first in the queue. A job recovered fewer
   * times is taken as any other. A paused queue gives nothing (`paused`): a fetch that runs after
   * `setPaused` took effect takes no job, whether or not its node has heard of the pause. A fetch
   * that ran twice (a command resent after a lost reply) takes nothing the second time.
   */
  readonly fetch: (
    queue: string,
    node: string,
    count: number,
    isolate?: boolean,
    suspectFrom?: number,
  ) => Effect.Effect<Fetched, StoreError>
  /** Remove finished jobs (by token) from `node`'s in-progress entries. */
  readonly ack: (queue: string, node: string, tokens: ReadonlyArray<string>) => Effect.Effect<void, StoreError>
  /** Atomically: ZADD `payload` to `retry` at `at` and remove the job of `token` from in-progress. */
  readonly retry: (
    queue: string,
    node: string,
    token: string,
    payload: string,
    at: number,
  ) => Effect.Effect<void, StoreError>
  /**
   * Atomically: ZADD `payload` to `dead` at `at`, trim the dead set, and remove the job of `token`
   * from in-progress.
   */
  readonly kill: (
    queue: string,
    node: string,
    token: string,
    payload: string,
    at: number,
    limits: DeadSetLimits,
  ) => Effect.Effect<void, StoreError>
  /** Move every in-progress job of `node` for `queue` back to where it runs next; returns the count. */
  readonly requeueInProgress: (queue: string, node: string) => Effect.Effect<number, StoreError>
  /** The in-progress entries of `node` for `queue`, oldest first. */
  readonly inProgress: (queue: string, node: string) => Effect.Effect<ReadonlyArray<InProgressJob>, StoreError>
  /**
   * Move one atomic batch of a dead `node`'s in-progress jobs for `queue` back to where they run
   * next, counting recoveries per job (past a count, such jobs then run alone, see `fetch`). A job recovered more
   * than `maxRecoveries` times is left for the caller to kill as a poison pill.
   */
  readonly recoverBatch: (
    queue: string,
    node: string,
    maxRecoveries: number,
  ) => Effect.Effect<RecoveredBatch, StoreError>
  /** Forget a job's recoveries (it came back to `queue`) once it has run alone and its outcome is written. */
  readonly forgetRecovery: (queue: string, raw: string) => Effect.Effect<void, StoreError>
  /**
   * Move the jobs of these tokens from `node`'s in-progress entries back to the front of the
   * queue, each only if still there: jobs the node took but is not running (a lost fetch reply).
   */
  readonly requeueOrphans: (
    queue: string,
    node: string,
    tokens: ReadonlyArray<string>,
  ) => Effect.Effect<number, StoreError>
  /**
   * Atomically: take the lock of `push.digest` (on `push.queue`) for `push.jid` for `push.ttlMillis`
   * and write the job (to its queue, or to `schedule` at `push.at`); or, the lock being held,
   * write nothing and name its holder. With `push.debounce`, a holder still waiting in `schedule`
   * is replaced: the new payload, with the holder's jid, at the new time (see Unique.ts). A resend
   * of the same call (same jid) is `Pushed` again and writes nothing more.
   */
  readonly pushUnique: (push: Unique.Push) => Effect.Effect<Unique.PushReply, StoreError>
  /** Free the lock of `digest` on `queue` if `jid` still holds it (compare-and-delete); whether it did. */
  readonly releaseUnique: (queue: string, digest: string, jid: string) => Effect.Effect<boolean, StoreError>
  /** The lock of `digest` on `queue`, while it is held. */
  readonly uniqueLock: (queue: string, digest: string) => Effect.Effect<Unique.Lock | undefined, StoreError>
}

/** The store's job path (see `JobStoreShape`): the client, the fetch loop, the pool and the outcome writes. */
export class JobStore extends Context.Service<JobStore, JobStoreShape>()("@verk/core/Store/JobStore") {}

/**
 * Sorted sets, queues and counters as an operator sees them: scheduling's reads and moves
 * (`earliest`, `due`, `promote`: the scheduler and the inspection API both move jobs out of a
 * set), the listings and deletions of queues and sets, and Sidekiq's stats counters.
 */
export interface SetStoreShape {
  /** The lowest score in `set` (epoch seconds), or `undefined` when it is empty. */
  readonly earliest: (set: "schedule" | "retry") => Effect.Effect<number | undefined, StoreError>
  /** Up to `limit` members of `set` whose score is ≤ `now` (epoch seconds), oldest first. */
  readonly due: (
    set: "schedule" | "retry",
    now: number,
    limit: number,
  ) => Effect.Effect<ReadonlyArray<string>, StoreError>
  /**
   * For each promotion whose `raw` is still in `set`, atomically remove it and push its payload to
   * its queue (or add it to `dead` at `deadAt`). Returns how many were moved: several nodes
   * promoting the same job move it once.
   */
  readonly promote: (
    set: SortedSetName,
    promotions: ReadonlyArray<Promotion>,
    deadAt: number,
  ) => Effect.Effect<number, StoreError>
  /** Every queue name ever pushed to. */
  readonly queues: Effect.Effect<ReadonlyArray<string>, StoreError>
  readonly queueSize: (queue: string) => Effect.Effect<number, StoreError>
  /** LRANGE semantics: index 0 is the newest job, -1 the next to run. */
  readonly queueRange: (queue: string, start: number, stop: number) => Effect.Effect<ReadonlyArray<string>, StoreError>
  readonly deleteFromQueue: (queue: string, raw: string) => Effect.Effect<boolean, StoreError>
  /** Empty the queue and forget its name. */
  readonly clearQueue: (queue: string) => Effect.Effect<void, StoreError>
  readonly setSize: (set: SortedSetName) => Effect.Effect<number, StoreError>
  /** By ascending score, ZRANGE index semantics. */
  readonly setRange: (
    set: SortedSetName,
    start: number,
    stop: number,
  ) => Effect.Effect<ReadonlyArray<ScoredPayload>, StoreError>
  /**
   * One bounded step of a cursor scan of `set` (Redis ZSCAN): start with cursor `"0"`, go on with
   * the cursor each step returns until it is `"0"` again. A member present for the whole scan is
   * seen at least once. Each step looks at about `count` members; with `contains`, the store may
   * leave out members whose bytes do not contain that text (Redis: MATCH), so callers check what
   * they get. Cursors are opaque, and are valid across processes (a web page carries them).
   */
  readonly scanSet: (
    set: SortedSetName,
    cursor: string,
    count: number,
    contains?: string | undefined,
  ) => Effect.Effect<SetScanStep, StoreError>
  /**
   * The members of `set` whose score is exactly `score`, by member, from `offset`, at most
   * `limit` (ZRANGEBYSCORE score score LIMIT): how an entry is found again by its score.
   */
  readonly setAt: (
    set: SortedSetName,
    score: number,
    offset: number,
    limit: number,
  ) => Effect.Effect<ReadonlyArray<ScoredPayload>, StoreError>
  /** ZREM of exactly this member (its exact bytes); whether it was there. */
  readonly deleteFromSet: (set: SortedSetName, raw: string) => Effect.Effect<boolean, StoreError>
  readonly clearSet: (set: SortedSetName) => Effect.Effect<void, StoreError>
  /** Add to `stat:processed`, `stat:failed` and their `<day>` (YYYY-MM-DD, UTC) keys: one round trip. */
  readonly incrementStats: (processed: number, failed: number, day: string) => Effect.Effect<void, StoreError>
  readonly stats: (day?: string) => Effect.Effect<StatsTotals, StoreError>
  /**
   * Add a flush's per-class execution metrics to their minutes (Sidekiq 7's `j|<day>|<h>:<m>`
   * hashes and per-class histograms, kept 8 hours): one round trip, counted once (see ClassMinute).
   */
  readonly recordMetrics: (batch: ReadonlyArray<ClassMinute>) => Effect.Effect<void, StoreError>
  /**
   * The execution metrics of these minutes (epoch milliseconds, each a UTC minute's start), of
   * every class or of `className` only; a class with nothing in a minute is left out of it.
   */
  readonly metrics: (
    minutes: ReadonlyArray<number>,
    className?: string,
  ) => Effect.Effect<ReadonlyArray<ClassMinute>, StoreError>
}

/**
 * One class's execution metrics in one UTC minute, as Sidekiq 7 keeps them: its runs (failures
 * included), its failures, the milliseconds its successful runs took, and how many successful runs
 * fell in each duration bucket (`ExecutionMetrics.BucketLimits`).
 */
export interface ClassMinute {
  /** The minute's start, epoch milliseconds. */
  readonly minute: number
  readonly className: string
  readonly runs: number
  readonly failures: number
  readonly millis: number
  /** Successful runs per duration bucket, as many as `ExecutionMetrics.BucketLimits`. */
  readonly buckets: ReadonlyArray<number>
}

/** The store's sets, queues and stats (see `SetStoreShape`): the scheduler, stats and inspection. */
export class SetStore extends Context.Service<SetStore, SetStoreShape>()("@verk/core/Store/SetStore") {}

/** The registry of nodes: heartbeats, liveness, the queues a node took from, and leaving. */
export interface NodeStoreShape {
  /** Write a heartbeat of `node` (and register it). */
  readonly heartbeat: (beat: Heartbeat) => Effect.Effect<void, StoreError>
  /** Nodes that may hold in-progress jobs (`verk_nodes`). */
  readonly nodes: Effect.Effect<ReadonlyArray<string>, StoreError>
  /**
   * Sidekiq's process registry (`processes`, `<identity>`, `<identity>:work`) for dashboards: the
   * nodes whose registry entry has not expired, by identity.
   */
  readonly processes: Effect.Effect<ReadonlyArray<ProcessEntry>, StoreError>
  /** Whether `node`'s heartbeat is still fresh at `now` (epoch milliseconds). */
  readonly isAlive: (node: string, now: number) => Effect.Effect<boolean, StoreError>
  /** Queues where `node` has taken jobs (`verk:node:<node>:queues`). */
  readonly nodeQueues: (node: string) => Effect.Effect<ReadonlyArray<string>, StoreError>
  /**
   * Forget `node` in Verk's and Sidekiq's registries, unless it still holds in-progress jobs
   * (then it stays registered, so they are recovered later). Returns whether it was forgotten.
   */
  readonly deregister: (node: string) => Effect.Effect<boolean, StoreError>
}

/** The store's node registry (see `NodeStoreShape`): the heartbeat, recovery and the process list. */
export class NodeStore extends Context.Service<NodeStore, NodeStoreShape>()("@verk/core/Store/NodeStore") {}

/** What nodes tell each other through the store: notifications, and the pause state they obey. */
export interface NotificationStoreShape {
  /** Notifications from every node sharing this store, for as long as the stream runs. */
  readonly notifications: Stream.Stream<Notification, StoreError>
  /** Pause state lives in the store, so that every node obeys it. */
  readonly setPaused: (queue: string, paused: boolean) => Effect.Effect<void, StoreError>
  readonly pausedQueues: Effect.Effect<ReadonlySet<string>, StoreError>
}

/** The store's notifications and pauses (see `NotificationStoreShape`): wake-ups and pause control. */
export class NotificationStore extends Context.Service<NotificationStore, NotificationStoreShape>()(
  "@verk/core/Store/NotificationStore",
) {}

// ---------------------------------------------------------------------------------------------
// Job results (see JobResult.ts): a result record per jid, kept for a while, and word of its arrival.
// ---------------------------------------------------------------------------------------------

/**
 * What result waiters hear: the record of `jid` was written (Redis: `done:<jid>` on the
 * notification channel), or the subscription is live again and anything may have been missed.
 */
export type ResultNotice = { readonly _tag: "Done"; readonly jid: string } | { readonly _tag: "Resubscribed" }

/** Job results: written by the run of a worker that declares a `success` schema, read by waiters. */
export interface ResultStoreShape {
  /** Keep `record` (JSON text, see JobResult.ts) as `jid`'s result for `ttlMillis`, then tell waiters. */
  readonly writeResult: (jid: string, record: string, ttlMillis: number) => Effect.Effect<void, StoreError>
  /** The result record of `jid`, `undefined` when none was written or it expired. */
  readonly readResult: (jid: string) => Effect.Effect<string | undefined, StoreError>
  /**
   * A subscription to result notices: live once this effect has succeeded (so a read after it
   * cannot miss a write), for the lifetime of the scope.
   */
  readonly resultNotices: Effect.Effect<Stream.Stream<ResultNotice, StoreError>, StoreError, Scope.Scope>
}

/** The store's job results (see `ResultStoreShape`): the job run writes them, `JobResult` waits for them. */
export class ResultStore extends Context.Service<ResultStore, ResultStoreShape>()("@verk/core/Store/ResultStore") {}

// ---------------------------------------------------------------------------------------------
// Cancel requests (see Cancel.ts): durable markers that every node obeys.
// ---------------------------------------------------------------------------------------------

/**
 * How long a cancel request is remembered: a cancelled job that comes back later (a dead node's
 * in-progress job recovered, a job requeued by a stopping node) is dropped instead of run within
 * this time. Recovery comes within a heartbeat's TTL, so a day is ample.
 */
export const CancelMarkerSeconds = 24 * 3600

/** The cancel requests of jobs: markers with an expiry, and the notification that carries them. */
export interface CancelStoreShape {
  /**
   * Remember that `jid` is cancelled until `until` (epoch milliseconds), forget the markers
   * expired at `now`, then tell every node (a `Cancel` notification). Whether the marker is new.
   */
  readonly markCancelled: (jid: string, now: number, until: number) => Effect.Effect<boolean, StoreError>
  /** Forget `jid`'s marker (a job found finished: a later retry of it from the dead set runs). */
  readonly forgetCancelled: (jid: string) => Effect.Effect<void, StoreError>
  /** The jids whose marker is live at `now` (epoch milliseconds). */
  readonly cancelledJids: (now: number) => Effect.Effect<ReadonlyArray<string>, StoreError>
}

/** The store's cancel requests (see `CancelStoreShape`): the cancel call and every node's runs. */
export class CancelStore extends Context.Service<CancelStore, CancelStoreShape>()("@verk/core/Store/CancelStore") {}

// ---------------------------------------------------------------------------------------------
// The aggregate
// ---------------------------------------------------------------------------------------------

/** Every operation of a store: the eight roles (see the module's comment). */
export interface StoreShape
  extends JobStoreShape,
    SetStoreShape,
    NodeStoreShape,
    NotificationStoreShape,
    PeriodicStoreShape,
    ResultStoreShape,
    CancelStoreShape,
    LimitStoreShape {}

/**
 * The whole store, for tools that touch every part of it (the admin CLI, the dashboard) and for
 * tests: `MemoryStore.layer`, `RedisStore.layer` provide it beside its eight roles.
 */
export class Store extends Context.Service<Store, StoreShape>()("@verk/core/Store") {}

/** The eight role services, as the runtime needs them. */
export type Roles =
  | JobStore
  | SetStore
  | NodeStore
  | NotificationStore
  | PeriodicStore
  | ResultStore
  | CancelStore
  | LimitStore

/** What a store layer provides: the aggregate and its eight roles. */
export type Services = Store | Roles

/** The eight role services over one store value. */
export const rolesContext = (store: StoreShape): Context.Context<Roles> =>
  Context.make(JobStore, store).pipe(
    Context.add(SetStore, store),
    Context.add(NodeStore, store),
    Context.add(NotificationStore, store),
    Context.add(PeriodicStore, store),
    Context.add(ResultStore, store),
    Context.add(CancelStore, store),
    Context.add(LimitStore, store),
  )

/** The aggregate and its eight roles over one store value (a wrapped store in a test, say). */
export const context = (store: StoreShape): Context.Context<Services> => Context.add(rolesContext(store), Store, store)

/** The eight roles over the aggregate `Store` in context: for a store provided as `Store` alone. */
export const layerRoles: Layer.Layer<Roles, never, Store> = Layer.effectContext(Effect.map(Store, rolesContext))

/** A store layer: the aggregate and its eight roles, over the one store that `make` builds. */
export const layer = <E, R>(make: Effect.Effect<StoreShape, E, R>): Layer.Layer<Services, E, Exclude<R, Scope.Scope>> =>
  Layer.effectContext(Effect.map(make, context))
