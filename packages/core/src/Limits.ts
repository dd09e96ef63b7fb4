/**
 * Rate and concurrency limits shared by every node on a store: at most `limit` starts per `per`
 * (`rate`), or at most `limit` runs at once (`concurrency`), per worker (`Worker.make`'s `limits`),
 * per queue (`Verk.layer`'s `queueLimits`), and per key computed from a job's args (one budget per
 * customer or API token).
 *
 *   const PerCustomer = Limits.rate({ name: "crm", limit: 5, per: "1 second", key: ([customer]) => customer })
 *   Worker.make({ name: "SyncCustomer", args, perform, limits: [PerCustomer] })
 *
 * Limits with the same `name` share one budget, across workers, queues and nodes; a `key` gives
 * each key a budget of its own (`<name>:<key>`).
 *
 * A job over a limit is snoozed, not run: it leaves its node's in-progress entries for `schedule`
 * (its payload unchanged: no `retry_count`, no error), in one atomic step, and its slot is free
 * at once for the queue's other jobs. It is not processed, not failed and not a retry; it is
 * counted in `verk_jobs_snoozed_total` and published as `JobSnoozed`. It comes back when a rate
 * window has room again (the oldest start leaves it), or after `snooze` for a concurrency limit,
 * each with a little jitter so that snoozed jobs do not all return in the same millisecond.
 *
 * A rate limit is a sliding window log: the store keeps the times of the starts in the last `per`
 * and admits a start only when fewer than `limit` are there, so no window of length `per` (not
 * just the aligned ones) ever holds more than `limit` starts. Redis reads its own clock (TIME) in
 * the script, so nodes with skewed clocks share one window; the in-memory store reads `Clock`, so
 * TestClock drives it. A concurrency limit keeps its holders (one per running job, named by its
 * node); a hold is freed when the job's outcome is written or its run is interrupted (shutdown),
 * and the holds of a node that died are freed by that node's recovery, never by a timeout.
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"

/** A job's args as on the wire (`Worker.WireArgs`): what a queue's limits get. */
export type WireArgs = ReadonlyArray<unknown>

/** At most `limit` starts in any window of `per`, across every node. */
export interface RateLimit<A = WireArgs> {
  readonly _tag: "Rate"
  readonly name: string
  readonly limit: number
  readonly per: Duration.Duration
  /** The key of one job's budget (a customer, a token), from its args; one budget when absent. */
  keyOf?(args: A): string
}

/** At most `limit` jobs running at once, across every node. */
export interface ConcurrencyLimit<A = WireArgs> {
  readonly _tag: "Concurrency"
  readonly name: string
  readonly limit: number
  /** How long a job that found every slot taken waits before it tries again (plus jitter). */
  readonly snooze: Duration.Duration
  /** The key of one job's budget, from its args; one budget when absent. */
  keyOf?(args: A): string
}

/**
 * A limit on the jobs of a worker (its args decoded, `A`) or of a queue (its args as on the wire).
 * A method `keyOf`, so that a worker's limits fit any worker.
 */
export type Limit<A = WireArgs> = RateLimit<A> | ConcurrencyLimit<A>

/** A limit's options make no sense (a defect where the limit is written, like a bad queue name). */
export class InvalidLimit extends Data.TaggedError("InvalidLimit")<{
  readonly name: string
  readonly reason: string
}> {
  override get message() {
    return `Invalid limit "${this.name}": ${this.reason}`
  }
}

/** What a concurrency limit waits for a free slot when it does not say (`snooze`). */
export const DefaultSnooze: Duration.Duration = Duration.seconds(1)

const checked = (name: string, limit: number): void => {
  if (name === "") throw new InvalidLimit({ name, reason: "a limit needs a name" })
  if (!Number.isInteger(limit) || limit < 1) {
    throw new InvalidLimit({ name, reason: `limit must be a whole number ≥ 1, got ${limit}` })
  }
}

const positive = (name: string, option: string, input: Duration.Input): Duration.Duration => {
  const duration = Duration.fromInputUnsafe(input)
  if (Duration.toMillis(duration) < 1) {
    throw new InvalidLimit({ name, reason: `${option} must be at least a millisecond` })
  }
  return duration
}

/**
 * At most `limit` starts per `per` across every node (a sliding window, see the module's comment);
 * with `key`, per key. Throws `InvalidLimit` for a limit below 1 or a window under a millisecond.
 */
export const rate = <A>(options: {
  readonly name: string
  readonly limit: number
  readonly per: Duration.Input
  readonly key?: ((args: A) => string) | undefined
}): RateLimit<A> => {
  checked(options.name, options.limit)
  const per = positive(options.name, "per", options.per)
  const key = options.key
  return key === undefined
    ? { _tag: "Rate", name: options.name, limit: options.limit, per }
    : { _tag: "Rate", name: options.name, limit: options.limit, per, keyOf: key }
}

/**
 * At most `limit` jobs running at once across every node; with `key`, per key. A job that finds
 * every slot taken tries again after `snooze` (one second when absent), plus jitter.
 */
export const concurrency = <A>(options: {
  readonly name: string
  readonly limit: number
  readonly key?: ((args: A) => string) | undefined
  readonly snooze?: Duration.Input | undefined
}): ConcurrencyLimit<A> => {
  checked(options.name, options.limit)
  const snooze = options.snooze === undefined ? DefaultSnooze : positive(options.name, "snooze", options.snooze)
  const key = options.key
  return key === undefined
    ? { _tag: "Concurrency", name: options.name, limit: options.limit, snooze }
    : { _tag: "Concurrency", name: options.name, limit: options.limit, snooze, keyOf: key }
}

/** The store key of a limit's budget for these args: its name, and its key when it has one. */
export const budgetOf = <A>(limit: Limit<A>, args: A): string =>
  limit.keyOf === undefined ? limit.name : `${limit.name}:${limit.keyOf(args)}`

/** Limits per queue, for every job of the queue whatever its worker: queue name → its limits. */
export type QueueLimitsShape = Readonly<Record<string, ReadonlyArray<Limit<WireArgs>>>>

/** The queue limits a node admits jobs by (`Verk.layer`'s `queueLimits`); none by default. */
export const QueueLimits: Context.Reference<QueueLimitsShape> = Context.Reference<QueueLimitsShape>(
  "@verk/core/Limits/QueueLimits",
  { defaultValue: () => ({}) },
)
