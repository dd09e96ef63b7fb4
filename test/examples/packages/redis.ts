// An app that enqueues a job to Redis; a worker process (`npx verk run`, from @verk/node) runs it.
import { Client, Worker } from "@verk/core"
import { RedisStore } from "@verk/redis"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

export const ResizeImage = Worker.make({
  name: "ResizeImage",
  args: Schema.Tuple([Schema.String, Schema.Int]), // [image id, width]
  queue: "images",
  perform: ([id, width]) => Effect.log(`resize ${id} to ${width}px`),
})

// The store with its own connection; `namespace` prefixes every key, as Sidekiq's redis-namespace does.
const { REDIS_URL = "redis://127.0.0.1:6379", VERK_NAMESPACE } = process.env
const Store = RedisStore.layer({ url: REDIS_URL, namespace: VERK_NAMESPACE })

const program = Effect.gen(function* () {
  const job = yield* Client.enqueue(ResizeImage, ["img-42", 640]) // in Redis when this returns
  yield* Effect.log(`enqueued ${job.class} ${job.jid} on ${job.queue}`)
})

// The layer's scope ends with the program, which closes the connection.
Effect.runPromise(program.pipe(Effect.provide(Client.layer.pipe(Layer.provide(Store)))))
