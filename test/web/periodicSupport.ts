/**
 * What the Periodic page's tests share: a node on a test store declaring two periodic entries
 * (`nightly` at 03:00 Paris time, `minutely` every minute), started once both are in the store.
 */
import { Context, Effect, Layer, Schema } from "effect"
import * as Periodic from "../../packages/core/src/Periodic.ts"
import * as Verk from "../../packages/core/src/Verk.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { eventually, recordEvents, type TestStore } from "../runtime/support.ts"

/** The worker both entries enqueue. */
export const Report = Worker.make({
  name: "Report",
  args: Schema.Tuple([Schema.String]),
  perform: () => Effect.void,
})

export const nightly = Periodic.make({
  name: "nightly",
  cron: "0 3 * * *",
  timeZone: "Europe/Paris",
  worker: Report,
  args: ["nightly"],
})
export const minutely = Periodic.make({ name: "minutely", cron: "* * * * *", worker: Report, args: ["minutely"] })

/** A node declaring both entries on `testStore`; returns its events once the store lists them. */
export const startPeriodicNode = Effect.fnUntraced(function* (testStore: TestStore) {
  const layer = Verk.layer({
    workers: [Report],
    periodic: [nightly, minutely],
    queues: { default: 1 },
    pollInterval: "200 millis",
    shutdownTimeout: "200 millis",
    logLevels: { start: "None", done: "None", fail: "None" },
  }).pipe(Layer.provideMerge(Layer.succeedContext(testStore.context)))
  const context = yield* Layer.build(layer)
  const events = yield* recordEvents(Context.get(context, Verk.Verk))
  yield* eventually(
    "both entries declared",
    Effect.map(testStore.store.periodicRecords, (records) => records.length === 2),
    "10 seconds",
  )
  return events
})
