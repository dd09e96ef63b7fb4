// threads.ts: a node that runs HashPassword's jobs in 2 worker threads, and waits for one's result.
import { NodeRuntime } from "@effect/platform-node"
import { Client, JobResult, Verk } from "@verk/core"
import { Threads } from "@verk/node"
import { RedisStore } from "@verk/redis"
import { Effect, Layer } from "effect"
import { HashPassword } from "./threadWorkers.ts"

const Live = Verk.layer({ workers: [HashPassword], queues: { default: 5 } }).pipe(
  // The threads load the module that defines the threaded workers, as `verk run` would.
  Layer.provide(Threads.layer({ module: new URL("./threadWorkers.ts", import.meta.url), size: 2 })),
  Layer.provideMerge(JobResult.layer),
  Layer.provideMerge(RedisStore.layerConfig),
)

const program = Effect.gen(function* () {
  const digest = yield* Client.enqueueAndWait(HashPassword, ["hunter2", 20_000], { timeout: "30 seconds" })
  yield* Effect.log(`digest ${digest}`)
})

program.pipe(Effect.provide(Live), NodeRuntime.runMain)
