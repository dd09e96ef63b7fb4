/**
 * Verk Web's JSON API, schema first: what the pages poll and post to, and what a script may call.
 * Its OpenAPI document is served at `<prefix>/api/openapi.json`. Every request part is decoded by
 * Schema (a bad jid, page or size is a 400 problem naming the field), and every failure a handler
 * can meet is a typed error with a status and a message.
 */

import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, OpenApi } from "effect/http-api"
import * as Schema from "effect/Schema"

export class BadRequest extends Schema.TaggedError<BadRequest>()(
  "BadRequest",
  { message: Schema.String },
  { httpApiStatus: 400 },
) {}

export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  { message: Schema.String },
  { httpApiStatus: 404 },
) {}

/** A jid as Sidekiq (24 hex) and Verk (digits) write it, or any other client's plain token. */
export const Jid = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9_.:-]{1,100}$/, { message: "a jid is 1 to 100 letters, digits, _ . : or -" }),
)

const QueueParam = Schema.String.check(Schema.isBetweenLength(1, 200))

/** The job sets of the dashboard, by their page names. */
export const SetName = Schema.Literals(["retries", "scheduled", "dead"])
export type SetName = typeof SetName.Type

const Paging = {
  page: Schema.optional(Schema.NumberFromString.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1))),
  size: Schema.optional(Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 500 }))),
}

export const DayStats = Schema.Struct({ day: Schema.String, processed: Schema.Number, failed: Schema.Number })
export type DayStats = typeof DayStats.Type

export const Overview = Schema.Struct({
  processed: Schema.Number,
  failed: Schema.Number,
  enqueued: Schema.Number,
  retries: Schema.Number,
  scheduled: Schema.Number,
  dead: Schema.Number,
  busy: Schema.Number,
  nodes: Schema.Number,
  /** The last 30 days, oldest first (UTC days). */
  history: Schema.Array(DayStats),
})
export type Overview = typeof Overview.Type

export const QueueInfo = Schema.Struct({
  name: Schema.String,
  size: Schema.Number,
  /** Seconds since the next job to run was enqueued. */
  latency: Schema.Number,
  paused: Schema.Boolean,
})
export type QueueInfo = typeof QueueInfo.Type

/** A job as the dashboard shows it. A payload that is not a job has `malformed` and its text in `payload`. */
export const JobView = Schema.Struct({
  jid: Schema.String,
  class: Schema.String,
  queue: Schema.String,
  args: Schema.Array(Schema.Unknown),
  /** Epoch seconds: when it runs (scheduled, retries) or died (dead); absent in a queue. */
  at: Schema.optional(Schema.Number),
  createdAt: Schema.optional(Schema.Number),
  enqueuedAt: Schema.optional(Schema.Number),
  failedAt: Schema.optional(Schema.Number),
  retriedAt: Schema.optional(Schema.Number),
  retryCount: Schema.optional(Schema.Number),
  errorClass: Schema.optional(Schema.String),
  errorMessage: Schema.optional(Schema.String),
  backtrace: Schema.optional(Schema.Array(Schema.String)),
  malformed: Schema.optional(Schema.String),
  payload: Schema.String,
})
export type JobView = typeof JobView.Type

export const JobPage = Schema.Struct({
  /** Jobs matching the filter, over every page. */
  total: Schema.Number,
  page: Schema.Number,
  size: Schema.Number,
  jobs: Schema.Array(JobView),
})
export type JobPage = typeof JobPage.Type

export const Work = Schema.Struct({
  queue: Schema.String,
  jid: Schema.optional(Schema.String),
  class: Schema.optional(Schema.String),
  runAt: Schema.Number,
})

export const NodeInfo = Schema.Struct({
  identity: Schema.String,
  hostname: Schema.optional(Schema.String),
  pid: Schema.optional(Schema.Number),
  queues: Schema.Array(Schema.String),
  concurrency: Schema.optional(Schema.Number),
  startedAt: Schema.optional(Schema.Number),
  busy: Schema.Number,
  beat: Schema.Number,
  work: Schema.Array(Work),
})
export type NodeInfo = typeof NodeInfo.Type

/** Jobs to act on, by jid (several at once). */
export const Jids = Schema.Struct({ jids: Schema.Array(Jid).check(Schema.isBetweenLength(1, 1000)) })

/** What an action did: how many jobs it changed, and the jids no longer there. */
export const Done = Schema.Struct({ count: Schema.Number, missing: Schema.Array(Schema.String) })
export type Done = typeof Done.Type

const Ok = Schema.Struct({ ok: Schema.Boolean })

export class OverviewGroup extends HttpApiGroup.make("overview")
  .add(
    HttpApiEndpoint.get("overview", "/overview", { success: Overview }),
    // The token every POST carries in its x-csrf-token header (a bearer-token caller needs none).
    HttpApiEndpoint.get("csrf", "/csrf", { success: Schema.Struct({ token: Schema.String }) }),
  )
  .prefix("/api") {}

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

export class NodesGroup extends HttpApiGroup.make("nodes")
  .add(HttpApiEndpoint.get("list", "/", { success: Schema.Array(NodeInfo) }))
  .prefix("/api/nodes") {}

export class SetsGroup extends HttpApiGroup.make("sets")
  .add(
    HttpApiEndpoint.get("list", "/:set", {
      params: { set: SetName },
      query: { ...Paging, class: Schema.optional(Schema.String), jid: Schema.optional(Schema.String) },
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
      error: NotFound,
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

export class Api extends HttpApi.make("verk-web")
  .add(OverviewGroup)
  .add(QueuesGroup)
  .add(NodesGroup)
  .add(SetsGroup)
  // A request that fails decoding gets a 400 problem naming the field, not an empty 400.
  .middleware(HttpApiMiddleware.ProblemDetails)
  .annotateMerge(
    OpenApi.annotations({
      title: "Verk Web",
      description:
        "Verk's dashboard API. Send the token as `Authorization: Bearer` when VERK_WEB_TOKEN is set; a POST from a page carries `x-csrf-token`.",
    }),
  ) {}
