/**
 * Verk Web, the dashboard: pages and a JSON API over the `Store` in context.
 *
 * `layer(options)` adds its routes to the `effect/http` router of the application it is provided
 * to, under `options.prefix` (as Sidekiq::Web is mounted in a Rails app); `serve(options)` is a
 * server of its own, on 127.0.0.1 unless told otherwise (`verk web`, `verk run --web-port`,
 * `npm start`). Every route it adds goes through `Guard`: the token when one is set, and a CSRF
 * token on every POST. It serves Prometheus' `/metrics` too (Metrics.ts).
 */
import { randomBytes } from "node:crypto"
import { createServer } from "node:http"
// The module, not the package index: the index loads all of platform-node into every worker.
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Store } from "@verk/core"

import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Admin from "../Admin.ts"
import * as AdminLimits from "../AdminLimits.ts"
import { Api } from "./Api.ts"
import * as Assets from "./Assets.ts"
import { allowedHostsFrom, guard, tokenFrom } from "./Guard.ts"
import * as Handlers from "./Handlers.ts"
import type { Html } from "./Html.ts"
import * as LimitsApi from "./LimitsApi.ts"
import { limitsPage, limitsUnavailablePage } from "./LimitsPage.ts"
import * as Metrics from "./Metrics.ts"
import * as MetricsRoutes from "./MetricsRoutes.ts"
import * as Pages from "./Pages.ts"
import * as PeriodicApi from "./PeriodicApi.ts"
import { periodicPage } from "./PeriodicPage.ts"

const StoreService = Store.Store

/** How Verk Web is mounted: its prefix, its token, how often pages refresh. */
export interface Options {
  /** Where the dashboard is mounted, as `/verk`; the root by default. */
  readonly prefix?: `/${string}` | undefined
  /** Required on every request when set (an empty string means none). */
  readonly token?: string | Redacted.Redacted<string> | undefined
  /** How often pages refresh themselves, in milliseconds; 3000 by default, 0 for never. */
  readonly pollMillis?: number | undefined
  /**
   * Without a token, the host names the dashboard answers to besides IP addresses and `localhost`
   * (a list, or comma-separated as VERK_WEB_ALLOWED_HOSTS): `name`, `name:port`, `.example.com`
   * for every name under it. Any other Host is refused 403 (DNS rebinding).
   */
  readonly allowedHosts?: string | ReadonlyArray<string> | undefined
  /**
   * The application's rate and concurrency limits (its workers' and queues'), which the Limits
   * page and `/api/limits` measure each budget in use against (its limit, its window). Limits are
   * code: without them a budget shows its use only.
   */
  readonly limits?: ReadonlyArray<AdminLimits.AnyLimit> | undefined
}

/** `Options`, and where `serve` listens. */
export interface ServeOptions extends Options {
  readonly port: number
  /** 127.0.0.1 by default: the dashboard changes jobs, so it stays on this host unless told. */
  readonly host?: string | undefined
}

/**
 * The limits of `workers` and of the queues (`Verk.layer`'s `queueLimits`), for `Options.limits`:
 * `Web.layer({ limits: Web.limitsOf(workers, queueLimits) })`.
 */
export const limitsOf = AdminLimits.limitsOf

const normalizePrefix = (prefix: string | undefined): string => (prefix ?? "").replace(/\/+$/, "")

const PageQuery = Schema.Struct({
  page: Schema.optional(Schema.NumberFromString.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1))),
  class: Schema.optional(Schema.String),
  jid: Schema.optional(Schema.String),
  cursor: Schema.optional(Schema.String),
})

/**
 * A view of the application's router that puts our prefix before every path and our guard before
 * every handler, so that the HttpApi's routes and the pages are both mounted and guarded by it.
 */
const mountedRouter = (prefix: string, wrap: ReturnType<typeof guard>) =>
  Layer.effect(
    HttpRouter.HttpRouter,
    Effect.gen(function* () {
      const router = yield* HttpRouter.HttpRouter
      const target = prefix === "" ? router : router.prefixed(prefix)
      const guarded = (route: HttpRouter.Route<unknown, unknown>) =>
        HttpRouter.route(
          route.method,
          route.path,
          wrap(route.handler as Effect.Effect<HttpServerResponse.HttpServerResponse, unknown, never>),
          { uninterruptible: route.uninterruptible },
        )
      const view: HttpRouter.HttpRouter = {
        ...target,
        addAll: (routes) => target.addAll(routes.map(guarded)) as Effect.Effect<void>,
        add: (method, path, handler, options) =>
          target.addAll([guarded(HttpRouter.route(method, path, handler, options))]) as Effect.Effect<void>,
      }
      return view
    }),
  )

/** The icon every page links (SVG: small, sharp at any size). */
const favicon = HttpServerResponse.text(Assets.favicon, {
  contentType: "image/svg+xml",
  headers: { "cache-control": "public, max-age=86400", "x-content-type-options": "nosniff" },
})

/** A page's response: rendered with what every page needs (nav counts, tokens), with strict headers. */
const responder =
  (base: string, csrf: string, pollMillis: number) =>
  (render: (context: Pages.PageContext) => Html, status = 200) =>
    Effect.gen(function* () {
      const now = (yield* Clock.currentTimeMillis) / 1000
      const counts = yield* Admin.navCounts()
      const served = new Set((yield* Admin.nodes).flatMap((node) => node.queues))
      const nonce = randomBytes(16).toString("base64")
      const context: Pages.PageContext = {
        base,
        csrf,
        nonce,
        pollMillis,
        now,
        counts,
        served,
      }
      return HttpServerResponse.text(render(context).text, {
        status,
        contentType: "text/html; charset=utf-8",
        headers: {
          // Defence in depth: only our own nonce'd style and script run, even if some text slipped through.
          "content-security-policy": `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
          "x-content-type-options": "nosniff",
          "referrer-policy": "same-origin",
          "cache-control": "no-store",
        },
      })
    })

/** The dashboard's routes, added to the `HttpRouter` it is provided to; it reads the `Store` in context. */
export const layer = (options: Options = {}) => {
  const prefix = normalizePrefix(options.prefix)
  const token = tokenFrom(options.token)
  // One secret per process: pages carry it, a POST without it is refused.
  const csrf = randomBytes(24).toString("base64url")
  const pollMillis = options.pollMillis ?? 3000
  const limits = options.limits ?? []
  const wrap = guard({
    token,
    csrf,
    cookiePath: prefix === "" ? "/" : prefix,
    allowedHosts: allowedHostsFrom(options.allowedHosts),
  })

  const respond = responder(prefix, csrf, pollMillis)

  const query = HttpServerRequest.schemaSearchParams(PageQuery)
  /** A page's failures: a bad address (an unknown set, a page that is not a number) is a 400 page. */
  const handlePage = <R>(
    effect: Effect.Effect<HttpServerResponse.HttpServerResponse, Store.StoreError | Schema.SchemaError, R>,
  ) =>
    effect.pipe(
      Effect.catchTag("SchemaError", () =>
        respond((context) => Pages.notFound(context, "That address is not a page of Verk Web."), 400),
      ),
      Effect.catchTag("StoreError", Effect.die),
    )
  const notFoundPage = (message: string) => respond((context) => Pages.notFound(context, message), 404)

  const pages = HttpRouter.use((router) =>
    Effect.gen(function* () {
      // Route handlers run in the request's context: the store (the aggregate and its roles, which
      // the inspection calls read) is the one this layer was built with.
      const store = yield* StoreService
      const page = <R>(
        effect: Effect.Effect<HttpServerResponse.HttpServerResponse, Store.StoreError | Schema.SchemaError, R>,
      ) => handlePage(effect).pipe(Effect.provideContext(Store.context(store)))
      yield* Effect.all([
        router.add("GET", "/favicon.ico", Effect.succeed(favicon)),
        router.add(
          "GET",
          "/",
          page(
            Effect.gen(function* () {
              const overview = yield* Admin.overview()
              const queues = yield* Admin.queues()
              return yield* respond((context) => Pages.dashboard(context, overview, queues))
            }),
          ),
        ),
        router.add(
          "GET",
          "/queues",
          page(Effect.flatMap(Admin.queues(), (queues) => respond((context) => Pages.queuesPage(context, queues)))),
        ),
        router.add(
          "GET",
          "/queues/:queue",
          page(
            Effect.gen(function* () {
              const { queue } = yield* HttpRouter.schemaPathParams(Schema.Struct({ queue: Schema.String }))
              const { page: number } = yield* query
              return yield* Admin.queueJobs(queue, number).pipe(
                Effect.flatMap((jobs) =>
                  Effect.flatMap(Admin.queues(), (queues) =>
                    respond((context) =>
                      Pages.queuePage(
                        context,
                        queue,
                        jobs,
                        queues.find((info) => info.name === queue),
                      ),
                    ),
                  ),
                ),
                Effect.catchTag("NotFound", (error) => notFoundPage(error.message)),
              )
            }),
          ),
        ),
        router.add(
          "GET",
          "/busy",
          page(Effect.flatMap(Admin.nodes, (nodes) => respond((context) => Pages.busyPage(context, nodes)))),
        ),
        router.add("GET", "/job-metrics", page(MetricsRoutes.summary(respond))),
        router.add("GET", "/job-metrics/:class", page(MetricsRoutes.detail(respond))),
        router.add(
          "GET",
          "/periodic",
          page(Effect.flatMap(PeriodicApi.list, (entries) => respond((context) => periodicPage(context, entries)))),
        ),
        router.add(
          "GET",
          "/limits",
          page(
            AdminLimits.limits(limits).pipe(
              Effect.flatMap((usage) => respond((context) => limitsPage(context, usage, limits.length > 0))),
              // A Redis Cluster spreads the limits' keys over its shards: no listing, a page that says so.
              LimitsApi.unavailable,
              Effect.catchTag("LimitsUnavailable", (error) =>
                respond((context) => limitsUnavailablePage(context, error.message), 503),
              ),
            ),
          ),
        ),
        router.add(
          "GET",
          "/:set",
          page(
            Effect.gen(function* () {
              const { set } = yield* HttpRouter.schemaPathParams(Schema.Struct({ set: Admin.SetName }))
              const filter = yield* query
              const jobs = yield* Admin.setJobs(set, filter)
              return yield* respond((context) => Pages.setPage(context, set, jobs, filter))
            }),
          ),
        ),
        router.add(
          "GET",
          "/:set/:jid",
          page(
            Effect.gen(function* () {
              const { set, jid } = yield* HttpRouter.schemaPathParams(
                Schema.Struct({ set: Admin.SetName, jid: Schema.String }),
              )
              return yield* Admin.setJob(set, jid).pipe(
                Effect.flatMap((job) => respond((context) => Pages.jobPage(context, set, job))),
                Effect.catchTag("NotFound", (error) => notFoundPage(error.message)),
              )
            }),
          ),
        ),
      ])
    }),
  )

  const api = HttpApiBuilder.layer(Api, { openapiPath: "/api/openapi.json" }).pipe(
    Layer.provide(Handlers.layer(csrf, limits)),
  )
  // `/metrics` beside the pages, behind the same token (a Prometheus scrape config can send it).
  return Layer.mergeAll(api, pages, Metrics.layer()).pipe(Layer.provide(mountedRouter(prefix, wrap)))
}

const wildcard = new Set(["", "0.0.0.0", "::", "[::]"])

/** Serves the dashboard on its own server until the scope closes. */
export const serve = (options: ServeOptions) => {
  const host = options.host ?? "127.0.0.1"
  // The name it is bound to is one it answers to; a wildcard address names no host.
  const bound = wildcard.has(host) ? [] : [host]
  const allowedHosts = [...allowedHostsFrom(options.allowedHosts), ...bound]
  return HttpRouter.serve(layer({ ...options, allowedHosts }), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { port: options.port, host })),
  )
}
