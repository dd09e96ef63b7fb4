/**
 * Periodic jobs: entries declared with the runtime (`Verk.layer({ periodic })`, `Verk.module`,
 * a `periodic` export for `verk run`), each a cron expression (Effect's `Cron`: five fields, or six
 * with seconds first) in a time zone, and the job it enqueues at each tick.
 *
 *   Periodic.make({ name: "nightly-report", cron: "0 3 * * *", timeZone: "Europe/Paris",
 *                   worker: Report, args: { kind: "daily" } })
 *
 * Every node running an entry asks the store for each tick; the store hands each tick to one of
 * them (the entry's state remembers the last tick handled, atomically with the push), so the job
 * of a tick is enqueued once whatever the number of nodes, under a jid of its own
 * (`periodic-<name>-<tick in epoch ms>`). Ticks missed while no node ran are skipped, unless the
 * entry says `missed: "last"`: then a node starting after them enqueues the last one. Time comes
 * from `Clock` only, so `TestClock` drives entries in tests.
 */
import * as Context from "effect/Context"
import * as Cron from "effect/Cron"
import * as Data from "effect/Data"
import * as DateTime from "effect/DateTime"
import type * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { queueNameProblem } from "./Settings.ts"
import type { AnyWorker } from "./Worker.ts"
import type { InvalidJobArgs, WireArgs, Worker } from "./WorkerDefinition.ts"

/** Marks a value made by `make` (by any copy of this library). */
export const TypeId: unique symbol = Symbol.for("@verk/core/Periodic") as never
/** The type of `TypeId`. */
export type TypeId = typeof TypeId

/** The rule of entry names: they appear in Redis keys and jids. */
export const NameRule = 'a periodic entry name is 1 to 128 letters, digits, "_", "-" or "."'
const NamePattern = /^[A-Za-z0-9_.-]{1,128}$/

/** What to do with ticks missed while no node ran the entry: skip them, or enqueue the last one. */
export type Missed = "skip" | "last"

/** A periodic entry (see the module's comment); made by `make`. */
export interface Entry {
  readonly [TypeId]: TypeId
  readonly name: string
  /** The cron expression as written. */
  readonly expression: string
  /** An IANA time zone, or `UTC`. */
  readonly timeZone: string
  readonly cron: Cron.Cron
  readonly worker: AnyWorker<unknown>
  /** The queue its jobs go to: the worker's unless the entry names one. */
  readonly queue: string
  readonly missed: Missed
  /** The wire args of the job of the tick at `tick`. */
  readonly argsAt: (tick: DateTime.Utc) => Effect.Effect<WireArgs, InvalidJobArgs>
}

/** What `make` takes: `args` for the same args at every tick, or `argsAt` to compute them from the tick's time. */
export type Options<A, E, R> = {
  /** Unique among a deployment's entries (see `NameRule`). */
  readonly name: string
  /** Five fields (minutes first), or six with seconds first: `"*\/5 * * * *"`, `"*\/10 * * * * *"`. */
  readonly cron: string
  /** An IANA time zone the expression is read in; `UTC` when absent. */
  readonly timeZone?: string | undefined
  readonly worker: Worker<A, E, R>
  /** The queue (a queue name, see `Settings.QueueNameRule`); the worker's when absent. */
  readonly queue?: string | undefined
  /** Ticks missed while no node ran: `"skip"` (the default) or `"last"` (enqueue the last one). */
  readonly missed?: Missed | undefined
} & (
  | { readonly args: NoInfer<A>; readonly argsAt?: undefined }
  | { readonly argsAt: (tick: DateTime.Utc) => NoInfer<A>; readonly args?: undefined }
)

/** An entry that cannot be: a bad name, cron expression or time zone. `make` throws it (it is code). */
export class InvalidPeriodicEntry extends Data.TaggedError("InvalidPeriodicEntry")<{
  readonly name: string
  readonly reason: string
}> {
  override get message() {
    return `Invalid periodic entry ${JSON.stringify(this.name)}: ${this.reason}`
  }
}

/** Two different entries with one name given to one runtime: a defect at start. */
export class DuplicatePeriodicName extends Data.TaggedError("DuplicatePeriodicName")<{ readonly name: string }> {
  override get message() {
    return `Two periodic entries are named ${JSON.stringify(this.name)}: names must be unique`
  }
}

/** Parses `expression` in `timeZone`, or says why it cannot be. */
export const parseCron = (expression: string, timeZone: string): Result.Result<Cron.Cron, string> =>
  Result.mapError(Cron.parse(expression, timeZone), (error) => `${error.message}: ${JSON.stringify(error.input)}`)

/** A periodic entry; throws `InvalidPeriodicEntry` for a bad name, expression or time zone. */
export const make = <A, E = never, R = never>(options: Options<A, E, R>): Entry => {
  const { name, worker } = options
  if (!NamePattern.test(name)) throw new InvalidPeriodicEntry({ name, reason: NameRule })
  const timeZone = options.timeZone ?? "UTC"
  const cron = parseCron(options.cron, timeZone)
  if (Result.isFailure(cron)) throw new InvalidPeriodicEntry({ name, reason: cron.failure })
  const queue = options.queue ?? worker.queue
  const queueProblem = queueNameProblem(queue)
  if (queueProblem !== undefined) throw new InvalidPeriodicEntry({ name, reason: queueProblem })
  const argsOf: (tick: DateTime.Utc) => A = options.argsAt !== undefined ? options.argsAt : () => options.args as A
  return {
    [TypeId]: TypeId,
    name,
    expression: options.cron,
    timeZone,
    cron: cron.success,
    worker: worker as AnyWorker<unknown>,
    queue,
    missed: options.missed ?? "skip",
    argsAt: (tick) => worker.encodeArgs(argsOf(tick)),
  }
}

/** Whether `value` was made by `make` (by any copy of this library). */
export const isEntry = (value: unknown): value is Entry =>
  typeof value === "object" && value !== null && (value as { readonly [TypeId]?: unknown })[TypeId] === TypeId

/** The jid of an entry's job for the tick at `tick` (epoch milliseconds): the same on every node. */
export const jidOf = (name: string, tick: number): string => `periodic-${name}-${tick}`

/** The jid of the job a `run now` request made at `at` enqueues. */
export const runNowJidOf = (name: string, at: number): string => `periodic-${name}-now-${at}`

/** What listings show of an entry, as nodes declare it in the store (`Store.PeriodicDeclaration`). */
export interface Description {
  readonly cron: string
  readonly timeZone: string
  readonly class: string
  readonly missed: Missed
}

/** The description a node declares for `entry`. */
export const describe = (entry: Entry): Description => ({
  cron: entry.expression,
  timeZone: entry.timeZone,
  class: entry.worker.name,
  missed: entry.missed,
})

/** The entries a runtime runs; `Verk.layer({ periodic })` provides them (none by default). */
export const Entries: Context.Reference<ReadonlyArray<Entry>> = Context.Reference<ReadonlyArray<Entry>>(
  "@verk/core/Periodic/Entries",
  { defaultValue: () => [] },
)

/** The first tick after `afterMillis` (epoch milliseconds), as epoch milliseconds. */
export const nextTick = (cron: Cron.Cron, afterMillis: number): number =>
  Cron.next(cron, new Date(afterMillis)).getTime()

/** The last tick before `beforeMillis` (epoch milliseconds), as epoch milliseconds. */
export const previousTick = (cron: Cron.Cron, beforeMillis: number): number =>
  Cron.prev(cron, new Date(beforeMillis)).getTime()

/** The tick's time, as `argsAt` receives it. */
export const tickTime = (tick: number): DateTime.Utc => DateTime.fromDateUnsafe(new Date(tick))
