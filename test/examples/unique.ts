// unique.ts: a report built once per account and day however often it is asked for, and a search
// index rebuilt once a burst of edits has settled.
import { Client, Inspection, Worker } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

export const BuildReport = Worker.make({
  name: "BuildReport",
  args: Schema.Tuple([Schema.String, Schema.String]), // [account, day]
  // One job per args until it succeeds (or dies); the lock lapses after 6 hours at the latest.
  unique: { until: "success", ttl: "6 hours" },
  perform: ([account, day]) => Effect.log(`report of ${account} for ${day}`),
})

export const Reindex = Worker.make({
  name: "Reindex",
  args: Schema.Tuple([Schema.String, Schema.Number]), // [document, revision]
  // Debounce: the job waits 2 s; each enqueue of the same document meanwhile replaces its args and
  // starts the wait again, so a burst of edits runs once, with the last revision.
  unique: { debounce: "2 seconds", key: ([document]) => document },
  perform: ([document, revision]) => Effect.log(`reindex ${document} at revision ${revision}`),
})

export const askForReports = Effect.gen(function* () {
  const first = yield* Client.enqueueUnique(BuildReport, ["acme", "2026-12-07"])
  const again = yield* Client.enqueueUnique(BuildReport, ["acme", "2026-12-07"])
  // first: { _tag: "Enqueued", job }; again: { _tag: "Duplicate", jid: <the first job's jid> }
  const lock = yield* Inspection.UniqueLocks.of(BuildReport, ["acme", "2026-12-07"])
  return { first, again, holder: lock?.jid }
})

export const editBurst = Effect.forEach([1, 2, 3], (revision) => Client.enqueueUnique(Reindex, ["guide", revision]))
// → Enqueued, then Replaced twice (same jid): one job, args ["guide", 3], 2 s after the last edit.
