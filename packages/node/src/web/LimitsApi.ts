/**
 * Verk Web's limits: `GET /api/limits` lists every budget of a rate or concurrency limit in use
 * (AdminLimits.ts, the reading `verk limits` shares): a rate budget's starts in its window, a
 * concurrency budget's holders, each against its limit when the dashboard was given the limits.
 */
import type { Store } from "@verk/core"
import * as Effect from "effect/Effect"
import { HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import * as Schema from "effect/Schema"
import { LimitView } from "../AdminLimits.ts"

/**
 * The store cannot list its limits now (the API answers 503): a Redis Cluster, whose shards each
 * hold some of the keys, or a store that is away. The message says which.
 */
export class LimitsUnavailable extends Schema.TaggedError<LimitsUnavailable>()(
  "LimitsUnavailable",
  { message: Schema.String },
  { httpApiStatus: 503 },
) {}

/** `/api/limits`: the budgets in use. */
export class LimitsGroup extends HttpApiGroup.make("limits")
  .add(HttpApiEndpoint.get("list", "/", { success: Schema.Array(LimitView), error: LimitsUnavailable }))
  .prefix("/api/limits") {}

/** The listing's own store failure as `LimitsUnavailable` (any other stays a store error). */
export const unavailable = <A, R>(
  effect: Effect.Effect<A, Store.StoreError, R>,
): Effect.Effect<A, Store.StoreError | LimitsUnavailable, R> =>
  Effect.catchIf(
    effect,
    (error) => error.operation === "limitUsage",
    (error) => Effect.fail(new LimitsUnavailable({ message: error.message })),
  )
