// cancel.ts: a long job that cleans up however it ends, and cancelling it by jid.
import { Cancel, Worker } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

export const ExportReport = Worker.make({
  name: "ExportReport",
  args: Schema.Tuple([Schema.String]),
  perform: ([report]) =>
    Effect.log(`exporting ${report}`).pipe(
      Effect.andThen(Effect.sleep("1 hour")), // the long work
      // Runs when the job ends, however: done, failed, timed out, shut down or cancelled.
      Effect.ensuring(Effect.log(`export of ${report} stopped, temporary files removed`)),
    ),
})

// From any process on the same Redis (`verk jobs cancel <jid>` does the same): a waiting job is
// removed, a running one is interrupted on its node, and a finished one is reported as such.
export const stopExport = (jid: string) =>
  Cancel.cancel(jid).pipe(Effect.tap((result) => Effect.log(Cancel.describe(result))))
