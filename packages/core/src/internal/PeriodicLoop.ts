/**
 * The periodic loop of a node: for each entry it runs (`Periodic.Entries`), a fiber sleeps until
 * the entry's next tick and asks the store for it (`claimPeriodic`); the store gives each tick to
 * one node. At start, an entry with `missed: "last"` whose last handled tick is older than its
 * previous tick enqueues that one. Every poll interval the loop looks for `run now` requests, and
 * every minute it declares its entries (for listings, and to keep their state in the store).
 *
 * A running node claims every tick in turn, also one it comes to a little late (a busy machine, a
 * pause of the process): up to `LateGraceMillis` late. Older ticks are skipped to the first tick
 * after now, as ticks missed while no node ran are (a clock jump, a long stall never enqueues a
 * burst of old ticks). Time comes only from `Clock`, so `TestClock.adjust` drives it.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { buildJob } from "../Client.ts"
import * as Job from "../Job.ts"
import * as Periodic from "../Periodic.ts"
import { Settings } from "../Settings.ts"
import { type PeriodicClaim, PeriodicStore } from "../Store.ts"
import * as Loop from "./Loop.ts"

/** A tick this late is still claimed by a running node; an older one is skipped. */
export const LateGraceMillis = 10_000

/** How often a node declares its entries again. */
export const DeclareEveryMillis = 60_000

/** Registry records that no node declared for this long leave listings (`verk periodic list`). */
export const StaleMillis = 10 * 60_000

/** A claim is repeated (it is idempotent) this often, a second apart, before this node gives the tick up. */
const retrying = { schedule: Schedule.spaced(Duration.seconds(1)), times: 3 }

const declaration = (entry: Periodic.Entry) => ({
  name: entry.name,
  queue: entry.queue,
  description: JSON.stringify(Periodic.describe(entry)),
})

export const run = Effect.fn("PeriodicLoop.run")(function* (entries: ReadonlyArray<Periodic.Entry>) {
  const store = yield* PeriodicStore
  const { pollInterval } = yield* Settings
  const outage = Loop.outage("Periodic jobs")

  /** The entry's job for `claim`, pushed if the store gives this node the claim. */
  const claimOne = (entry: Periodic.Entry, claim: PeriodicClaim) =>
    Effect.gen(function* () {
      const at = claim._tag === "Tick" ? claim.tick : claim.requestedAt
      const jid = claim._tag === "Tick" ? Periodic.jidOf(entry.name, at) : Periodic.runNowJidOf(entry.name, at)
      const args = yield* entry.argsAt(Periodic.tickTime(at))
      const nowMillis = yield* Clock.currentTimeMillis
      const job = yield* Effect.fromResult(
        buildJob(
          { class: entry.worker.name, args, queue: entry.queue, jid, retry: entry.worker.retry, periodic: entry.name },
          { nowMillis, enqueued: true },
        ),
      )
      const result = yield* store.claimPeriodic(entry, claim, Job.encode(job)).pipe(Effect.retry(retrying))
      yield* outage.succeeded
      if (result === "Enqueued") yield* Effect.logDebug(`Periodic ${entry.name} enqueued ${jid}`)
    }).pipe(
      Effect.catch((error) =>
        error._tag === "StoreError"
          ? outage.failed(error)
          : // The entry's own code is wrong (args its worker refuses): said each tick, never fatal.
            Effect.logError(`Periodic ${entry.name}: ${error.message}`),
      ),
      Effect.annotateLogs({ periodic: entry.name }),
    )

  const declare = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    yield* store.declarePeriodic(entries.map(declaration), now, StaleMillis)
  }).pipe(Effect.catch((error) => Effect.logWarning(`Could not declare periodic entries: ${error.message}`)))

  /** At start: the last missed tick of each `missed: "last"` entry that missed one. */
  const catchUp = Effect.gen(function* () {
    const wanting = entries.filter((entry) => entry.missed === "last")
    if (wanting.length === 0) return
    const states = yield* store.periodicStates(wanting)
    const now = yield* Clock.currentTimeMillis
    yield* Effect.forEach(wanting, (entry, index) => {
      const lastTick = states[index]?.lastTick
      const previous = Periodic.previousTick(entry.cron, now)
      // An entry never handled has missed nothing: it was not running before.
      return lastTick !== undefined && lastTick < previous
        ? claimOne(entry, { _tag: "Tick", tick: previous })
        : Effect.void
    })
  }).pipe(Effect.catch((error) => Effect.logWarning(`Could not look for missed periodic ticks: ${error.message}`)))

  const ticker = (entry: Periodic.Entry) =>
    Effect.gen(function* () {
      let after = yield* Clock.currentTimeMillis
      while (true) {
        const tick = Periodic.nextTick(entry.cron, after)
        const wait = tick - (yield* Clock.currentTimeMillis)
        if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
        yield* claimOne(entry, { _tag: "Tick", tick })
        const now = yield* Clock.currentTimeMillis
        after = now - tick > LateGraceMillis ? now : tick
      }
    })

  /** `run now` requests, every poll interval; declarations, every `DeclareEveryMillis`. */
  const poller = Effect.gen(function* () {
    let declaredAt = yield* Clock.currentTimeMillis
    while (true) {
      yield* Effect.sleep(pollInterval)
      const now = yield* Clock.currentTimeMillis
      if (now - declaredAt >= DeclareEveryMillis) {
        declaredAt = now
        yield* declare
      }
      const states = yield* store
        .periodicStates(entries)
        .pipe(Effect.catch((error) => Effect.as(outage.failed(error), [] as ReadonlyArray<never>)))
      yield* Effect.forEach(states, (state, index) => {
        const entry = entries[index]
        return entry === undefined || state.runRequested === undefined
          ? Effect.void
          : claimOne(entry, { _tag: "Run", requestedAt: state.runRequested })
      })
    }
  })

  yield* declare
  yield* catchUp
  return yield* Effect.all([poller, ...entries.map(ticker)], { concurrency: "unbounded", discard: true })
})
