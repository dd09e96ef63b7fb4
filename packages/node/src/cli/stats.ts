/** `verk stats`: queue sizes, the retry, schedule and dead sets, and Sidekiq's counters. */
import { Inspection, Store } from "@verk/core"
import { RedisStore } from "@verk/redis"
import { Console, Effect } from "effect"
import { Command } from "effect/cli"

export const stats = Command.make(
  "stats",
  {},
  Effect.fn(function* () {
    const store = yield* Store.Store
    const totals = yield* store.stats()
    yield* Console.log(`processed ${totals.processed}  failed ${totals.failed}`)
    for (const queue of yield* Inspection.Queue.names) {
      yield* Console.log(`queue ${queue}: ${yield* Inspection.Queue.size(queue)}`)
    }
    yield* Console.log(`scheduled ${yield* Inspection.ScheduledSet.size}`)
    yield* Console.log(`retry ${yield* Inspection.RetrySet.size}`)
    yield* Console.log(`dead ${yield* Inspection.DeadSet.size}`)
  }, Effect.provide(RedisStore.layerFromEnv)),
).pipe(Command.withDescription("Print queue sizes, sets and counters (Redis from REDIS_URL)"))
