// producer.ts: an application process that only enqueues; `verk run ./workers.ts` runs the jobs elsewhere.
import { NodeRuntime } from "@effect/platform-node"
import { Client } from "@verk/core"
import { RedisStore } from "@verk/redis"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
// The worker is shared code: the producer needs its name, queue and args schema, never its services.
import { CreditAccount } from "./workers.ts"

// A client and the store (REDIS_URL, VERK_NAMESPACE): no Verk.layer, so no queue runs in this process.
const Live = Client.layer.pipe(Layer.provide(RedisStore.layerConfig))

const program = Effect.gen(function* () {
  const job = yield* Client.enqueue(CreditAccount, ["acct-1", 250]) // type-checked against the worker's args
  yield* Effect.log(`enqueued ${job.class} ${job.jid} on ${job.queue}`)
})

// The program ends once the job is in Redis; closing the layer closes the connection.
program.pipe(Effect.provide(Live), NodeRuntime.runMain)
