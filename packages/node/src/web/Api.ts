/**
 * Verk Web's JSON API, schema first: what the pages poll and post to, and what a script may call.
 * Its OpenAPI document is served at `<prefix>/api/openapi.json`. Every request part is decoded by
 * Schema (a bad jid, page or size is a 400 problem naming the field), and every failure a handler
 * can meet is a typed error with a status and a message. What it serves and its errors are
 * Admin.ts's, shared with the `verk` commands; this module adds the HTTP side only.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, OpenApi } from "effect/http-api"
import * as Schema from "effect/Schema"
import { BadRequest, Done, JobPage, JobView, NodeInfo, NotFound, Overview, QueueInfo, SetName } from "../Admin.ts"
import { Cancelled } from "../AdminCancel.ts"
import { LimitsGroup } from "./LimitsApi.ts"
import { MetricsGroup } from "./MetricsApi.ts"
import { PeriodicGroup } from "./PeriodicApi.ts"

/**
 * A jid as Sidekiq (24 hex) and Verk (digits) write it, or any other client's plain token; or a set
 * entry's reference (`@<score>~<digest>`, see EntryRef.ts), which names any entry, whatever its jid.
 */
export const Jid = Schema.String.check(
  Schema.isPattern(/^(?:[A-Za-z0-9_.:-]{1,100}|@[^~\s]{1,40}~[A-Za-z0-9_-]{22})$/, {
    message: "a jid is 1 to 100 letters, digits, _ . : or -; an entry reference is @<score>~<digest>",
  }),
)

const QueueParam = Schema.String.check(Schema.isBetweenLength(1, 200))

const Paging = {
  page: Schema.optional(Schema.NumberFromString.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1))),
  size: Schema.optional(Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 500 }))),
}

/** Jobs to act on, by jid or entry reference (several at once). */
export const Jids = Schema.Struct({ jids: Schema.Array(Jid).check(Schema.isBetweenLength(1, 1000)) })

const Ok = Schema.Struct({ ok: Schema.Boolean })

/** `GET /api/overview` (the front page's counters) and `GET /api/csrf`. */
export class OverviewGroup extends HttpApiGroup.make("overview")
  .add(
    HttpApiEndpoint.get("overview", "/overview", { success: Overview }),
    // The token every POST carries in its x-csrf-token header (a bearer-token caller needs none).
    HttpApiEndpoint.get("csrf", "/csrf", { success: Schema.Struct({ token: Schema.String }) }),
  )
  .prefix("/api") {}

/** `/api/queues`: the queues, a queue's jobs, and pausing, resuming, clearing and deleting from one. */
export class QueuesGroup extends HttpApiGroup.make("queues")
  .add(
    HttpApiEndpoint.get("list", "/", { success: Schema.Array(QueueInfo) }),
    HttpApiEndpoint.get("jobs", "/:queue/jobs", {
      params: { queue: QueueParam },
      query: Paging,
      success: JobPage,
      error: NotFound,
    }),
    HttpApiEndpoint.post("pause", "/:queue/pause", { params: { queue: QueueParam }, success: Ok, error: NotFound }),
    HttpApiEndpoint.post("resume", "/:queue/resume", { params: { queue: QueueParam }, success: Ok, error: NotFound }),
    HttpApiEndpoint.post("clear", "/:queue/clear", { params: { queue: QueueParam }, success: Ok, error: NotFound }),
    HttpApiEndpoint.post("delete", "/:queue/delete", {
      params: { queue: QueueParam },
      payload: Jids,
      success: Done,
      error: NotFound,
    }),
  )
  .prefix("/api/queues") {}

/** `GET /api/nodes`: the live nodes. */
export class NodesGroup extends HttpApiGroup.make("nodes")
  .add(HttpApiEndpoint.get("list", "/", { success: Schema.Array(NodeInfo) }))
  .prefix("/api/nodes") {}

/** `/api/sets/:set` (retries, scheduled, dead): a set's jobs, one job, and the actions on them. */
export class SetsGroup extends HttpApiGroup.make("sets")
  .add(
    HttpApiEndpoint.get("list", "/:set", {
      params: { set: SetName },
      query: {
        ...Paging,
        class: Schema.optional(Schema.String),
        jid: Schema.optional(Schema.String),
        // A filtered page's `next`: where the filter's scan goes on.
        cursor: Schema.optional(Schema.String.check(Schema.isMaxLength(200))),
      },
      success: JobPage,
    }),
    HttpApiEndpoint.get("job", "/:set/jobs/:jid", {
      params: { set: SetName, jid: Jid },
      success: JobView,
      error: NotFound,
    }),
    HttpApiEndpoint.post("retry", "/:set/retry", {
      params: { set: SetName },
      payload: Jids,
      success: Done,
      error: [NotFound, BadRequest],
    }),
    HttpApiEndpoint.post("delete", "/:set/delete", {
      params: { set: SetName },
      payload: Jids,
      success: Done,
      error: NotFound,
    }),
    HttpApiEndpoint.post("kill", "/:set/kill", {
      params: { set: SetName },
      payload: Jids,
      success: Done,
      error: [NotFound, BadRequest],
    }),
    HttpApiEndpoint.post("retryAll", "/:set/retry-all", { params: { set: SetName }, success: Done }),
    HttpApiEndpoint.post("deleteAll", "/:set/delete-all", { params: { set: SetName }, success: Done }),
  )
  .prefix("/api/sets") {}

/** `POST /api/jobs/cancel`: cancel jobs by jid, waiting (removed) or running (interrupted). */
export class JobsGroup extends HttpApiGroup.make("jobs")
  .add(HttpApiEndpoint.post("cancel", "/cancel", { payload: Jids, success: Cancelled }))
  .prefix("/api/jobs") {}

/** The whole API, with problem-details errors and its OpenAPI title. */
export class Api extends HttpApi.make("verk-web")
  .add(OverviewGroup)
  .add(QueuesGroup)
  .add(NodesGroup)
  .add(SetsGroup)
  .add(JobsGroup)
  .add(MetricsGroup)
  .add(PeriodicGroup)
  .add(LimitsGroup)
  // A request that fails decoding gets a 400 problem naming the field, not an empty 400.
  .middleware(HttpApiMiddleware.ProblemDetails)
  .annotateMerge(
    OpenApi.annotations({
      title: "Verk Web",
      description:
        "Verk's dashboard API. Send the token as `Authorization: Bearer` when VERK_WEB_TOKEN is set; a POST from a page carries `x-csrf-token`.",
    }),
  ) {}
