// pools.ts: one node, 25 slots for critical, default and low (critical first, then default, then
// low), 10 slots shared by reports and exports (3 to 1), and mail's own 5 slots.
import { Verk, Worker } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

export const ChargeCard = Worker.make({
  name: "ChargeCard",
  queue: "critical",
  args: Schema.Tuple([Schema.String]), // the order id
  perform: ([order]) => Effect.logInfo(`charge ${order}`),
})

export const BuildReport = Worker.make({
  name: "BuildReport",
  queue: "reports",
  args: Schema.Tuple([Schema.String]), // the report's name
  perform: ([report]) => Effect.logInfo(`build ${report}`),
})

// The same as VERK_QUEUES=critical>default>low:25,reports*3+exports:10,mail:5 (with Verk.layerConfig).
export const node = Verk.layer({
  workers: [ChargeCard, BuildReport],
  pools: [
    { queues: ["critical", "default", "low"], concurrency: 25 },
    { name: "reports", queues: { reports: 3, exports: 1 }, concurrency: 10 },
  ],
  queues: { mail: 5 },
})
