/**
 * Periodic entries as an operator sees them (`Inspection.Periodic`): every entry a node declared
 * recently, with its last and next run, and pausing, resuming or running one now on every node.
 * What is listed is what the nodes declared (their code), read from the store: a tool without
 * the entries' code (the CLI, the dashboard) sees them all.
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Periodic from "./Periodic.ts"
import { type PeriodicRecord, PeriodicStore } from "./Store.ts"

/** No node declared a periodic entry of this name recently. */
export class PeriodicEntryNotFound extends Data.TaggedError("PeriodicEntryNotFound")<{ readonly name: string }> {
  override get message() {
    return `No periodic entry named ${JSON.stringify(this.name)} is declared by a running node`
  }
}

/** A periodic entry in a listing. Times are epoch milliseconds. */
export interface PeriodicEntry {
  readonly name: string
  readonly queue: string
  /** The cron expression, its time zone, the worker's class: as the declaring node's code says. */
  readonly cron: string
  readonly timeZone: string
  readonly class: string
  readonly missed: Periodic.Missed
  readonly paused: boolean
  /** The tick of the last job enqueued. */
  readonly lastRun: number | undefined
  /** The next tick after now; undefined when the expression cannot be read. */
  readonly nextRun: number | undefined
  /** A `run now` waiting for a node to take it: when it was asked for. */
  readonly runRequested: number | undefined
  /** When a node last declared it. */
  readonly seenAt: number
}

const Description = Schema.fromJsonString(
  Schema.Struct({
    cron: Schema.String,
    timeZone: Schema.String,
    class: Schema.String,
    missed: Schema.Literals(["skip", "last"]),
  }),
)
const decodeDescription = Schema.decodeUnknownOption(Description)

const records = PeriodicStore.use((store) => store.periodicRecords)

const find = Effect.fn("Periodic.find")(function* (name: string) {
  const found = (yield* records).find((record) => record.name === name)
  return found ?? (yield* new PeriodicEntryNotFound({ name }))
})

const toEntry = (record: PeriodicRecord, now: number) => {
  const description = Option.getOrUndefined(decodeDescription(record.description))
  const cron = description === undefined ? undefined : Periodic.parseCron(description.cron, description.timeZone)
  return {
    name: record.name,
    queue: record.queue,
    cron: description?.cron ?? "?",
    timeZone: description?.timeZone ?? "?",
    class: description?.class ?? "?",
    missed: description?.missed ?? "skip",
    nextRun: cron !== undefined && Result.isSuccess(cron) ? Periodic.nextTick(cron.success, now) : undefined,
    seenAt: record.seenAt,
  }
}

/** Periodic entries: list them, pause or resume one on every node, or run one now. */
export const PeriodicEntries = {
  /** Every entry declared recently, by name, with its state. */
  list: Effect.gen(function* () {
    const store = yield* PeriodicStore
    const found = yield* store.periodicRecords
    const states = yield* store.periodicStates(found)
    const now = yield* Clock.currentTimeMillis
    return found.map(
      (record, index): PeriodicEntry => ({
        ...toEntry(record, now),
        paused: states[index]?.paused ?? false,
        lastRun: states[index]?.lastEnqueued,
        runRequested: states[index]?.runRequested,
      }),
    )
  }).pipe(Effect.withSpan("Periodic.list")),
  /** Pause an entry on every node: its ticks pass and enqueue nothing until it is resumed. */
  pause: Effect.fn("Periodic.pause")(function* (name: string) {
    const record = yield* find(name)
    yield* PeriodicStore.use((store) => store.setPeriodicPaused(record, true))
  }),
  /** Resume a paused entry from its next tick (the ticks it passed while paused stay passed). */
  resume: Effect.fn("Periodic.resume")(function* (name: string) {
    const record = yield* find(name)
    yield* PeriodicStore.use((store) => store.setPeriodicPaused(record, false))
  }),
  /**
   * Ask for one job of the entry now: a node running the entry enqueues it within its poll
   * interval (jid `periodic-<name>-now-<ms>`), paused or not. Returns when it was asked for.
   */
  runNow: Effect.fn("Periodic.runNow")(function* (name: string) {
    const record = yield* find(name)
    const now = yield* Clock.currentTimeMillis
    yield* PeriodicStore.use((store) => store.requestPeriodicRun(record, now))
    return now
  }),
}
