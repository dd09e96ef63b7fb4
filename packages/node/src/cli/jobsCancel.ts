/**
 * `verk jobs cancel <jid...>`: cancel jobs by jid (see core's Cancel.ts). A waiting job (queued,
 * scheduled, retrying) is removed; a running one is interrupted on its node. One line per jid
 * says what happened, also for a job that had already finished or was cancelled before (exit 0:
 * cancelling is idempotent).
 */
import { Cancel } from "@verk/core"
import { RedisStore } from "@verk/redis"
import * as Console from "effect/Console"
import { Argument, Command } from "effect/cli"
import * as Effect from "effect/Effect"

/** `verk jobs cancel <jid...>`. */
export const cancel = Command.make(
  "cancel",
  {
    jids: Argument.String("jid").pipe(Argument.withDescription("the jids of the jobs"), Argument.variadic({ min: 1 })),
  },
  Effect.fn(function* ({ jids }) {
    for (const result of yield* Cancel.cancelAll(jids)) yield* Console.log(Cancel.describe(result))
  }, Effect.provide(RedisStore.layerConfig)),
).pipe(Command.withDescription("Cancel jobs: remove them if they wait, interrupt them where they run"))
