// api.ts: an HTTP API that enqueues jobs; `verk run ./workers.ts` runs them in another process.
import { createServer } from "node:http"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Client } from "@verk/core"
import { RedisStore } from "@verk/redis"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { CreditAccount } from "./workers.ts"

const CreditRequest = Schema.Struct({ account: Schema.String, cents: Schema.Int })

// POST /credit {"account":"acct-1","cents":250}: 202 and the job's jid once the job is in Redis.
const credit = HttpRouter.add(
  "POST",
  "/credit",
  Effect.gen(function* () {
    const { account, cents } = yield* HttpServerRequest.schemaBodyJson(CreditRequest)
    const job = yield* Client.enqueue(CreditAccount, [account, cents])
    return HttpServerResponse.jsonUnsafe({ jid: job.jid }, { status: 202 })
  }).pipe(Effect.catchTag("SchemaError", () => Effect.succeed(HttpServerResponse.empty({ status: 400 })))),
)

// The handlers' Client on the store (REDIS_URL, VERK_NAMESPACE); the server listens on PORT (3000).
const Live = HttpRouter.serve(credit).pipe(
  Layer.provide(Client.layer.pipe(Layer.provide(RedisStore.layerConfig))),
  Layer.provide(NodeHttpServer.layerConfig(createServer, { port: Config.Port("PORT").pipe(Config.withDefault(3000)) })),
)

Layer.launch(Live).pipe(NodeRuntime.runMain)
