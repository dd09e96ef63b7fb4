/**
 * The JSON API's handlers: each endpoint is one call of `Admin`, on the store the layer was built
 * with. A store failure is a defect here (a 500 the logs keep); everything a request can get wrong
 * is its typed 4xx.
 */
import { Store } from "@verk/core"
import * as Effect from "effect/Effect"
import { HttpApiBuilder, HttpApiMiddleware } from "effect/http-api"
import * as Layer from "effect/Layer"
import * as Admin from "../Admin.ts"
import * as AdminCancel from "../AdminCancel.ts"
import * as AdminLimits from "../AdminLimits.ts"
import * as JobMetrics from "../JobMetrics.ts"
import { Api } from "./Api.ts"
import * as LimitsApi from "./LimitsApi.ts"
import * as PeriodicApi from "./PeriodicApi.ts"

/** Runs an `Admin` call on `store` (the aggregate and its roles); a store failure becomes a defect. */
const on =
  (store: Store.StoreShape) =>
  <A, E>(
    effect: Effect.Effect<A, E | Store.StoreError, Store.Services>,
  ): Effect.Effect<A, Exclude<E, Store.StoreError>> =>
    effect.pipe(
      Effect.catchIf(
        (error): error is Store.StoreError => error instanceof Store.StoreError,
        (error) => Effect.die(error),
      ),
      Effect.provideContext(Store.context(store)),
    ) as Effect.Effect<A, Exclude<E, Store.StoreError>>

/**
 * Handlers of every group; `csrf` is the token pages and scripts send back with each POST, and
 * `limits` the declared limits the Limits page measures budgets against.
 */
export const layer = (csrf: string, limits: ReadonlyArray<AdminLimits.AnyLimit> = []) =>
  Layer.mergeAll(
    HttpApiBuilder.group(Api, "overview", (handlers) =>
      Effect.map(Store.Store, (store) =>
        handlers
          .handle("overview", () => on(store)(Admin.overview()))
          .handle("csrf", () => Effect.succeed({ token: csrf })),
      ),
    ),
    HttpApiBuilder.group(Api, "queues", (handlers) =>
      Effect.map(Store.Store, (store) =>
        handlers
          .handle("list", () => on(store)(Admin.queues()))
          .handle("jobs", ({ params, query }) => on(store)(Admin.queueJobs(params.queue, query.page, query.size)))
          .handle("pause", ({ params }) => on(store)(Admin.setPaused(params.queue, true)))
          .handle("resume", ({ params }) => on(store)(Admin.setPaused(params.queue, false)))
          .handle("clear", ({ params }) => on(store)(Admin.clearQueue(params.queue)))
          .handle("delete", ({ params, payload }) => on(store)(Admin.deleteFromQueue(params.queue, payload.jids))),
      ),
    ),
    HttpApiBuilder.group(Api, "nodes", (handlers) =>
      Effect.map(Store.Store, (store) => handlers.handle("list", () => on(store)(Admin.nodes))),
    ),
    HttpApiBuilder.group(Api, "sets", (handlers) =>
      Effect.map(Store.Store, (store) =>
        handlers
          .handle("list", ({ params, query }) => on(store)(Admin.setJobs(params.set, query)))
          .handle("job", ({ params }) => on(store)(Admin.setJob(params.set, params.jid)))
          .handle("retry", ({ params, payload }) => on(store)(Admin.retry(params.set, payload.jids)))
          .handle("delete", ({ params, payload }) => on(store)(Admin.remove(params.set, payload.jids)))
          .handle("kill", ({ params, payload }) => on(store)(Admin.kill(params.set, payload.jids)))
          .handle("retryAll", ({ params }) => on(store)(Admin.retryAll(params.set)))
          .handle("deleteAll", ({ params }) => on(store)(Admin.deleteAll(params.set))),
      ),
    ),
    HttpApiBuilder.group(Api, "jobs", (handlers) =>
      Effect.map(Store.Store, (store) =>
        handlers.handle("cancel", ({ payload }) => on(store)(AdminCancel.cancel(payload.jids))),
      ),
    ),
    HttpApiBuilder.group(Api, "metrics", (handlers) =>
      Effect.map(Store.Store, (store) =>
        handlers
          .handle("summary", ({ query }) => on(store)(JobMetrics.summary(query.period)))
          .handle("class", ({ params, query }) => on(store)(JobMetrics.classDetail(params.class, query.period))),
      ),
    ),
    HttpApiBuilder.group(Api, "periodic", (handlers) =>
      Effect.map(Store.Store, (store) =>
        handlers
          .handle("list", () => on(store)(PeriodicApi.list))
          .handle("pause", ({ params }) => on(store)(PeriodicApi.setPaused(params.name, true)))
          .handle("resume", ({ params }) => on(store)(PeriodicApi.setPaused(params.name, false)))
          .handle("runNow", ({ params }) => on(store)(PeriodicApi.runNow(params.name))),
      ),
    ),
    HttpApiBuilder.group(Api, "limits", (handlers) =>
      Effect.map(Store.Store, (store) =>
        handlers.handle("list", () => on(store)(LimitsApi.unavailable(AdminLimits.limits(limits)))),
      ),
    ),
  ).pipe(Layer.provide(HttpApiMiddleware.layerProblemDetails({ includeDetails: true })))
