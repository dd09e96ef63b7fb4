/**
 * Verk Web's limits: `GET /api/limits` lists every budget of a rate or concurrency limit in use
 * (AdminLimits.ts, the reading `verk limits` shares): a rate budget's starts in its window, a
 * concurrency budget's holders, each against its limit when the dashboard was given the limits.
 */
import { HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import * as Schema from "effect/Schema"
import { LimitView } from "../AdminLimits.ts"

/** `/api/limits`: the budgets in use. */
export class LimitsGroup extends HttpApiGroup.make("limits")
  .add(HttpApiEndpoint.get("list", "/", { success: Schema.Array(LimitView) }))
  .prefix("/api/limits") {}
