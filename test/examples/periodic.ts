// periodic.ts: `verk run ./periodic.ts` runs its worker and its periodic entries. Run it on as many
// nodes as you like: each tick is enqueued once, under the jid `periodic-<name>-<tick in epoch ms>`.
import { Periodic, Verk, Worker } from "@verk/core"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

export const SendDigest = Worker.make({
  name: "SendDigest",
  args: Schema.Tuple([Schema.String, Schema.String]), // [period, day]
  perform: ([period, day]) => Effect.log(`${period} digest of ${day} sent`),
})

export const periodic = [
  // Every day at 07:30 in Paris (five fields, minutes first), the day computed from the tick. A
  // morning with no node running is made up for when one starts: `missed: "last"` enqueues the last
  // missed tick (the default skips missed ticks).
  Periodic.make({
    name: "daily-digest",
    cron: "30 7 * * *",
    timeZone: "Europe/Paris",
    worker: SendDigest,
    argsAt: (tick) => ["daily", DateTime.formatIsoDate(DateTime.setZoneNamedUnsafe(tick, "Europe/Paris"))] as const,
    missed: "last",
  }),
  // Every 30 seconds (six fields, seconds first), the same args each time.
  Periodic.make({ name: "pulse", cron: "*/30 * * * * *", worker: SendDigest, args: ["pulse", "today"] }),
]

export default Verk.module({ workers: [SendDigest], periodic })
