/**
 * `verk periodic list|pause|resume|run-now`: the periodic entries that running nodes declared
 * (their code), read from Redis: a listing with each entry's last and next run, and pausing,
 * resuming or running one now on every node at once. An entry no node declared recently is
 * refused by name (`PeriodicEntryNotFound`), as a typo must not pause nothing silently.
 */
import { Inspection } from "@verk/core"
import { RedisStore } from "@verk/redis"
import * as Console from "effect/Console"
import { Argument, Command, Flag } from "effect/cli"
import * as Effect from "effect/Effect"
import { Descriptions } from "./commands.ts"

const nameArgument = Argument.String("name").pipe(Argument.withDescription("the periodic entry's name"))

const time = (millis: number | undefined): string => (millis === undefined ? "-" : new Date(millis).toISOString())

/** The listing as a table: one line per entry. */
export const table = (entries: ReadonlyArray<Inspection.PeriodicEntry>): string => {
  const rows = [
    ["NAME", "CRON", "TIME ZONE", "CLASS", "QUEUE", "STATE", "LAST RUN", "NEXT RUN"],
    ...entries.map((entry) => [
      entry.name,
      entry.cron,
      entry.timeZone,
      entry.class,
      entry.queue,
      entry.paused ? "paused" : "active",
      time(entry.lastRun),
      entry.paused ? "-" : time(entry.nextRun),
    ]),
  ]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")
}

const list = Command.make(
  "list",
  { json: Flag.Boolean("json").pipe(Flag.withDefault(false), Flag.withDescription("print JSON")) },
  Effect.fn(function* ({ json }) {
    const entries = yield* Inspection.Periodic.list
    if (json) return yield* Console.log(JSON.stringify(entries, null, 2))
    yield* Console.log(entries.length === 0 ? "no periodic entries are declared by a running node" : table(entries))
  }, Effect.provide(RedisStore.layerConfig)),
).pipe(Command.withDescription("List periodic entries with their last and next run"))

const act = (name: string, description: string, run: (entry: string) => Effect.Effect<string, unknown, never>) =>
  Command.make(
    name,
    { name: nameArgument },
    Effect.fn(function* ({ name: entry }) {
      yield* Console.log(yield* run(entry))
    }),
  ).pipe(Command.withDescription(description))

const pause = act("pause", "Pause a periodic entry on every node (its ticks enqueue nothing)", (name) =>
  Inspection.Periodic.pause(name).pipe(
    Effect.as(`paused periodic entry ${name}`),
    Effect.provide(RedisStore.layerConfig),
  ),
)

const resume = act("resume", "Resume a paused periodic entry from its next tick", (name) =>
  Inspection.Periodic.resume(name).pipe(
    Effect.as(`resumed periodic entry ${name}`),
    Effect.provide(RedisStore.layerConfig),
  ),
)

const runNow = act("run-now", "Enqueue one job of a periodic entry now (a node running it enqueues it)", (name) =>
  Inspection.Periodic.runNow(name).pipe(
    Effect.map((at) => `asked for a run of periodic entry ${name} (jid periodic-${name}-now-${at})`),
    Effect.provide(RedisStore.layerConfig),
  ),
)

/** `verk periodic list|pause|resume|run-now`. */
export const periodic = Command.make("periodic").pipe(
  Command.withDescription(Descriptions.periodic),
  Command.withSubcommands([list, pause, resume, runNow]),
)
