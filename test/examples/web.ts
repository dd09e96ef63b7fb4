import { createServer } from "node:http"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Web } from "@verk/node"
import { RedisStore } from "@verk/redis"
import { Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"

// The application's own routes.
const Home = HttpRouter.add("GET", "/", HttpServerResponse.text("my app"))

// Verk Web under /verk: its pages, and its JSON API under /verk/api (OpenAPI at /verk/api/openapi.json).
// With a token, every request must carry it (Bearer, or open /verk/?token=... once for a cookie).
const Dashboard = Web.layer({ prefix: "/verk", token: process.env.VERK_WEB_TOKEN })

const App = HttpRouter.serve(Layer.mergeAll(Home, Dashboard)).pipe(
  Layer.provide(NodeHttpServer.layer(createServer, { port: Number(process.env.PORT ?? 3000), host: "127.0.0.1" })),
  Layer.provide(RedisStore.layerConfig), // the store the dashboard reads (REDIS_URL)
)

Layer.launch(App).pipe(NodeRuntime.runMain)
