/**
 * `GET /api/metrics` (every class's execution metrics over the last hour or 8 hours) and
 * `GET /api/metrics/:class` (one class, minute by minute): what the Metrics pages show (JobMetrics.ts).
 */
import { HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import * as Schema from "effect/Schema"
import { ClassDetail, MetricsSummary, Period } from "../JobMetrics.ts"

const Window = { period: Schema.optional(Period) }

/** The metrics endpoints; `period` is `1h` (the default) or `8h`. */
export class MetricsGroup extends HttpApiGroup.make("metrics")
  .add(
    HttpApiEndpoint.get("summary", "/", { query: Window, success: MetricsSummary }),
    HttpApiEndpoint.get("class", "/:class", {
      params: { class: Schema.String.check(Schema.isBetweenLength(1, 200)) },
      query: Window,
      success: ClassDetail,
    }),
  )
  .prefix("/api/metrics") {}
