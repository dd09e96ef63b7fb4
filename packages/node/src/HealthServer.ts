/**
 * `/healthz` for process managers and Kubernetes probes: 200 with the node's health as JSON while
 * its heartbeat reaches Redis and every background loop runs, 503 (same body) otherwise, so a
 * supervisor can restart a worker that is up but no longer working. Opt-in, and on loopback unless
 * told otherwise: `verk run --health-port 9090 [--health-host 0.0.0.0]`.
 */
import { createServer } from "node:http"
// The module, not the package index: the index loads all of platform-node into every worker.
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Verk } from "@verk/core"
import * as Effect from "effect/Effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import * as Layer from "effect/Layer"

export interface Options {
  readonly port: number
  /** 127.0.0.1 by default; a probe from outside the host (Kubernetes) needs 0.0.0.0. */
  readonly host?: string | undefined
}

const healthz = HttpRouter.add(
  "GET",
  "/healthz",
  Effect.gen(function* () {
    const health = yield* (yield* Verk.Verk).health
    return HttpServerResponse.jsonUnsafe(health, { status: health.healthy ? 200 : 503 })
  }),
)

/** Serves `/healthz` for the `Verk` node in context until the scope closes. */
export const layer = (options: Options) =>
  HttpRouter.serve(healthz, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { port: options.port, host: options.host ?? "127.0.0.1" })),
  )
