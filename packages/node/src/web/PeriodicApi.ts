/**
 * Verk Web's periodic entries: `GET /api/periodic` lists what running nodes declared (cron, time
 * zone, worker, last and next run, paused), and `POST /api/periodic/:name/pause|resume|run-now`
 * acts on one on every node (`Inspection.Periodic`, as `verk periodic` does). An entry no node
 * declared recently is a 404.
 */
import { Inspection, Periodic, type Store } from "@verk/core"
import * as Effect from "effect/Effect"
import { HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import * as Schema from "effect/Schema"
import { NotFound } from "../Admin.ts"

/** A periodic entry as the dashboard shows it; times are epoch milliseconds. */
export const PeriodicView = Schema.Struct({
  name: Schema.String,
  queue: Schema.String,
  cron: Schema.String,
  timeZone: Schema.String,
  class: Schema.String,
  missed: Schema.Literals(["skip", "last"]),
  paused: Schema.Boolean,
  /** The tick of the last job enqueued. */
  lastRun: Schema.optional(Schema.Number),
  /** The next tick after now (absent when the expression cannot be read). */
  nextRun: Schema.optional(Schema.Number),
  /** A run now asked for and not yet taken by a node: when it was asked for. */
  runRequested: Schema.optional(Schema.Number),
  /** When a node last declared it. */
  seenAt: Schema.Number,
})
export type PeriodicView = typeof PeriodicView.Type

/** A periodic entry's name, as `Periodic.make` allows it. */
const NameParam = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9_.-]{1,128}$/, {
    message: 'a periodic entry name is 1 to 128 letters, digits, "_", "-" or "."',
  }),
)

const Ok = Schema.Struct({ ok: Schema.Boolean })

/** `/api/periodic`: the entries, and pausing, resuming or running one now. */
export class PeriodicGroup extends HttpApiGroup.make("periodic")
  .add(
    HttpApiEndpoint.get("list", "/", { success: Schema.Array(PeriodicView) }),
    HttpApiEndpoint.post("pause", "/:name/pause", { params: { name: NameParam }, success: Ok, error: NotFound }),
    HttpApiEndpoint.post("resume", "/:name/resume", { params: { name: NameParam }, success: Ok, error: NotFound }),
    HttpApiEndpoint.post("runNow", "/:name/run-now", {
      params: { name: NameParam },
      success: Schema.Struct({ ok: Schema.Boolean, jid: Schema.String }),
      error: NotFound,
    }),
  )
  .prefix("/api/periodic") {}

/** The entries, keys left out rather than undefined (JSON readers see no key). */
export const list: Effect.Effect<ReadonlyArray<PeriodicView>, Store.StoreError, Store.PeriodicStore> = Effect.map(
  Inspection.Periodic.list,
  (entries) =>
    entries.map(
      (entry): PeriodicView => ({
        name: entry.name,
        queue: entry.queue,
        cron: entry.cron,
        timeZone: entry.timeZone,
        class: entry.class,
        missed: entry.missed,
        paused: entry.paused,
        seenAt: entry.seenAt,
        ...(entry.lastRun === undefined ? {} : { lastRun: entry.lastRun }),
        ...(entry.nextRun === undefined ? {} : { nextRun: entry.nextRun }),
        ...(entry.runRequested === undefined ? {} : { runRequested: entry.runRequested }),
      }),
    ),
)

/** An entry no node declared is the API's 404. */
const notFound = <A, E, R>(effect: Effect.Effect<A, E | Inspection.PeriodicEntryNotFound, R>) =>
  Effect.catchIf(
    effect,
    (error): error is Inspection.PeriodicEntryNotFound => error instanceof Inspection.PeriodicEntryNotFound,
    (error) => Effect.fail(new NotFound({ message: error.message })),
  )

/** Pauses (`true`) or resumes an entry on every node. */
export const setPaused = (
  name: string,
  paused: boolean,
): Effect.Effect<{ readonly ok: boolean }, Store.StoreError | NotFound, Store.PeriodicStore> =>
  (paused ? Inspection.Periodic.pause(name) : Inspection.Periodic.resume(name)).pipe(Effect.as({ ok: true }), notFound)

/** Asks for one job of the entry now; returns the jid it will have. */
export const runNow = (
  name: string,
): Effect.Effect<{ readonly ok: boolean; readonly jid: string }, Store.StoreError | NotFound, Store.PeriodicStore> =>
  Inspection.Periodic.runNow(name).pipe(
    Effect.map((at) => ({ ok: true, jid: Periodic.runNowJidOf(name, at) })),
    notFound,
  )
