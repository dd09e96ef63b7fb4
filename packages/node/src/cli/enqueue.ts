/** `verk enqueue <class> <args-json>`: push a job by hand, as Sidekiq's client would. */
import { Client, Settings } from "@verk/core"
import { RedisStore } from "@verk/redis"
import { Console, Effect, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"

const ArgsJson = Schema.fromJsonString(Schema.Array(Schema.Unknown))

export const enqueue = Command.make(
  "enqueue",
  {
    className: Argument.String("class").pipe(Argument.withDescription("the job class (wire name)")),
    args: Argument.String("args").pipe(
      Argument.withDescription("the args as a JSON array"),
      Argument.withSchema(ArgsJson),
    ),
    queue: Flag.String("queue").pipe(
      Flag.withDescription(`the queue (${Settings.QueueNameRule})`),
      Flag.withSchema(Settings.QueueName),
      Flag.withDefault("default"),
    ),
  },
  Effect.fn(
    function* ({ className, args, queue }) {
      const job = yield* Client.enqueueRaw({ class: className, args, queue })
      yield* Console.log(job.jid)
    },
    Effect.provide(Client.layer),
    Effect.provide(RedisStore.layerFromEnv),
  ),
).pipe(Command.withDescription("Enqueue a job (Redis from REDIS_URL)"))
