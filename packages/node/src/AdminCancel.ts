/**
 * Cancelling jobs from Verk Web (see core's Cancel.ts): the reply of `POST /api/jobs/cancel`, and
 * the call behind it. Kept beside Admin.ts rather than in it: one action, one file.
 */
import { Cancel, type Store } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** What one jid's cancel did: `outcome` is `Cancel.CancelResult`'s tag, `message` a line for a person. */
export const CancelOutcome = Schema.Struct({
  jid: Schema.String,
  outcome: Schema.Literals(["Removed", "Interrupted", "AlreadyCancelled", "Finished"]),
  message: Schema.String,
})

/**
 * The reply of a cancel: `count` jobs removed or interrupted, `missing` the jids that neither
 * waited nor ran (finished already, or unknown; the pages say "gone meanwhile"), and each result.
 */
export const Cancelled = Schema.Struct({
  count: Schema.Number,
  missing: Schema.Array(Schema.String),
  results: Schema.Array(CancelOutcome),
})
/** The type of `Cancelled`. */
export type Cancelled = typeof Cancelled.Type

/** Cancel each jid, in order (see `Cancel.cancel`). */
export const cancel: (
  jids: ReadonlyArray<string>,
) => Effect.Effect<Cancelled, Store.StoreError, Store.CancelStore | Store.SetStore | Store.NodeStore | Store.JobStore> =
  Effect.fn("Admin.cancel")(function* (jids: ReadonlyArray<string>) {
    const results = yield* Cancel.cancelAll(jids)
    return {
      count: results.filter((result) => result._tag === "Removed" || result._tag === "Interrupted").length,
      missing: results.flatMap((result) => (result._tag === "Finished" ? [result.jid] : [])),
      results: results.map((result) => ({ jid: result.jid, outcome: result._tag, message: Cancel.describe(result) })),
    } satisfies Cancelled
  })
