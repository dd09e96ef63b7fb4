// progress.ts: a job that says how far it is. Its last report shows in the busy list (Verk Web's
// Busy page, `verk stats`, `Inspection.processes`), and each report is a `JobProgress` event.
import { CurrentJob, Worker } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

export const ImportRows = Worker.make({
  name: "ImportRows",
  args: Schema.Tuple([Schema.Array(Schema.String)]), // the rows
  perform: ([rows]) =>
    Effect.gen(function* () {
      for (const [index, row] of rows.entries()) {
        yield* Effect.logDebug(`import ${row}`)
        // Report as often as you like: the node writes the last report a few times a second at most.
        yield* CurrentJob.progress(((index + 1) / rows.length) * 100, `row ${index + 1} of ${rows.length}`)
      }
    }),
})
