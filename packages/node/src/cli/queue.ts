/**
 * `verk queue pause|resume|clear <name>`: the dashboard's queue actions. Pause and resume are stored
 * in Redis and announced, so every node obeys at once. `clear` deletes a queue's jobs and always
 * needs `--yes`: a prompt would hang a script, and a missing flag refuses on a terminal too, so
 * the same line works (or is refused) everywhere. A queue no job was ever pushed to (and not
 * paused) is refused, as on the dashboard: a typo must not pause a queue nobody uses.
 */
import { Inspection, Settings } from "@verk/core"
import { RedisStore } from "@verk/redis"
import * as Console from "effect/Console"
import { Argument, Command, Flag } from "effect/cli"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { Descriptions } from "./commands.ts"

// Loaded when a command needs it (the CLI loads a module only when it is used: cold start).
const admin = Effect.promise(() => import("../Admin.ts"))

/** `verk queue clear` without `--yes`. */
export class ClearNeedsYes extends Data.TaggedError("ClearNeedsYes")<{ readonly queue: string }> {
  override get message() {
    return `clearing queue ${this.queue} deletes its jobs: add --yes to do it`
  }
}

const queueArgument = Argument.String("queue").pipe(
  Argument.withDescription(`the queue (${Settings.QueueNameRule})`),
  Argument.withSchema(Settings.QueueName),
)

const setPaused = (name: string, paused: boolean, done: string) =>
  Command.make(
    name,
    { queue: queueArgument },
    Effect.fn(function* ({ queue }) {
      yield* (yield* admin).setPaused(queue, paused)
      yield* Console.log(`${done} queue ${queue}`)
    }, Effect.provide(RedisStore.layerConfig)),
  )

const pause = setPaused("pause", true, "paused").pipe(
  Command.withDescription("Pause a queue on every node (running jobs finish; none start)"),
)
const resume = setPaused("resume", false, "resumed").pipe(Command.withDescription("Resume a paused queue"))

const clearQueue = Effect.fn("cli.queue.clear")(function* (queue: string) {
  const size = yield* Inspection.Queue.size(queue)
  yield* (yield* admin).clearQueue(queue)
  yield* Console.log(`cleared queue ${queue} (${size} job${size === 1 ? "" : "s"} deleted)`)
})

const clear = Command.make(
  "clear",
  {
    queue: queueArgument,
    yes: Flag.Boolean("yes").pipe(
      Flag.withDefault(false),
      Flag.withDescription("really delete the queue's jobs (always required)"),
    ),
  },
  Effect.fn(function* ({ queue, yes }) {
    // Refused before Redis is reached: nothing to connect for.
    if (!yes) return yield* new ClearNeedsYes({ queue })
    return yield* Effect.provide(clearQueue(queue), RedisStore.layerConfig)
  }),
).pipe(Command.withDescription("Delete every job of a queue (needs --yes)"))

/** `verk queue pause|resume|clear <name>`. */
export const queue = Command.make("queue").pipe(
  Command.withDescription(Descriptions.queue),
  Command.withSubcommands([pause, resume, clear]),
)
