/**
 * The workers of the bench's worker-thread section (threads.ts): one no-op job run in the node's
 * event loop and the same run in a worker thread. Each thread imports this module.
 */
import { Worker } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

export const NoOpHere = Worker.make({ name: "NoOpHere", args: Schema.Tuple([]), perform: () => Effect.void })

export const NoOpThreaded = Worker.make({
  name: "NoOpThreaded",
  thread: true,
  args: Schema.Tuple([]),
  perform: () => Effect.void,
})
