/**
 * The JSON API's handlers: each endpoint is one call of `Data`, on the store the layer was built
 * with. A store failure is a defect here (a 500 the logs keep); everything a request can get wrong
 * is its typed 4xx.
 */
import { Store } from "@verk/core"
import * as Effect from "effect/Effect"
import { HttpApiBuilder, HttpApiMiddleware } from "effect/http-api"
import * as Layer from "effect/Layer"
import { Api } from "./Api.ts"
import * as Data from "./Data.ts"

/** Runs a `Data` call on `store`; a store failure becomes a defect. */
const on =
  (store: Store.StoreShape) =>
  <A, E>(effect: Effect.Effect<A, E | Store.StoreError, Store.Store>): Effect.Effect<A, Exclude<E, Store.StoreError>> =>
    effect.pipe(
      Effect.catchIf(
        (error): error is Store.StoreError => error instanceof Store.StoreError,
        (error) => Effect.die(error),
      ),
      Effect.provideService(Store.Store, store),
    ) as Effect.Effect<A, Exclude<E, Store.StoreError>>

/** Handlers of every group; `csrf` is the token pages and scripts send back with each POST. */
export const layer = (csrf: string) =>
  Layer.mergeAll(
    HttpApiBuilder.group(Api, "overview", (handlers) =>
      Effect.map(Store.Store, (store) =>
        handlers
          .handle("overview", () => on(store)(Data.overview()))
          .handle("csrf", () => Effect.succeed({ token: csrf })),
      ),
    ),
    HttpApiBuilder.group(Api, "queues", (handlers) =>
      Effect.map(Store.Store, (store) =>
        handlers
          .handle("list", () => on(store)(Data.queues()))
          .handle("jobs", ({ params, query }) => on(store)(Data.queueJobs(params.queue, query.page, query.size)))
          .handle("pause", ({ params }) => on(store)(Data.setPaused(params.queue, true)))
          .handle("resume", ({ params }) => on(store)(Data.setPaused(params.queue, false)))
          .handle("clear", ({ params }) => on(store)(Data.clearQueue(params.queue)))
          .handle("delete", ({ params, payload }) => on(store)(Data.deleteFromQueue(params.queue, payload.jids))),
      ),
    ),
    HttpApiBuilder.group(Api, "nodes", (handlers) =>
      Effect.map(Store.Store, (store) => handlers.handle("list", () => on(store)(Data.nodes))),
    ),
    HttpApiBuilder.group(Api, "sets", (handlers) =>
      Effect.map(Store.Store, (store) =>
        handlers
          .handle("list", ({ params, query }) => on(store)(Data.setJobs(params.set, query)))
          .handle("job", ({ params }) => on(store)(Data.setJob(params.set, params.jid)))
          .handle("retry", ({ params, payload }) => on(store)(Data.retry(params.set, payload.jids)))
          .handle("delete", ({ params, payload }) => on(store)(Data.remove(params.set, payload.jids)))
          .handle("kill", ({ params, payload }) => on(store)(Data.kill(params.set, payload.jids)))
          .handle("retryAll", ({ params }) => on(store)(Data.retryAll(params.set)))
          .handle("deleteAll", ({ params }) => on(store)(Data.deleteAll(params.set))),
      ),
    ),
  ).pipe(Layer.provide(HttpApiMiddleware.layerProblemDetails({ includeDetails: true })))
