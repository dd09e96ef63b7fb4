/**
 * The Metrics pages' handlers (`/job-metrics`, `/job-metrics/:class`, `?period=1h|8h`): read
 * JobMetrics.ts and render MetricsPage.ts through the dashboard's `respond` (its layout context,
 * headers and guard are Web.ts's).
 */
import type { Store } from "@verk/core"
import * as Effect from "effect/Effect"
import { HttpRouter, HttpServerRequest, type HttpServerResponse } from "effect/http"
import * as Schema from "effect/Schema"
import * as JobMetrics from "../JobMetrics.ts"
import type { Html } from "./Html.ts"
import * as MetricsPage from "./MetricsPage.ts"
import type { PageContext } from "./Pages.ts"

/** How Web.ts answers with a page. */
type Respond<E, R> = (
  render: (context: PageContext) => Html,
) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>

const periodQuery = HttpServerRequest.schemaSearchParams(Schema.Struct({ period: Schema.optional(JobMetrics.Period) }))

/** What a metrics page's route reads besides the store: the request's query (and path). */
type Route<E, R, Read> = Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  E | Store.StoreError | Effect.Error<Read>,
  R | Store.SetStore | Effect.Services<Read>
>

/** `/job-metrics`: every class over the period. */
export const summary = <E, R>(respond: Respond<E, R>): Route<E, R, typeof periodQuery> =>
  Effect.gen(function* () {
    const { period } = yield* periodQuery
    const metrics = yield* JobMetrics.summary(period)
    return yield* respond((context) => MetricsPage.metricsPage(context, metrics))
  })

const classParams = HttpRouter.schemaPathParams(Schema.Struct({ class: Schema.String }))

/** `/job-metrics/:class`: one class, minute by minute. */
export const detail = <E, R>(respond: Respond<E, R>): Route<E, R, typeof periodQuery | typeof classParams> =>
  Effect.gen(function* () {
    const params = yield* classParams
    const { period } = yield* periodQuery
    const metrics = yield* JobMetrics.classDetail(params.class, period)
    return yield* respond((context) => MetricsPage.classMetricsPage(context, metrics))
  })
