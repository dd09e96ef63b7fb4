/**
 * `verk stats [--json]`: what the dashboard's front page and Busy page show, for a terminal or a
 * script: Sidekiq's counters, the queues (size, latency, paused), the retry, schedule and dead sets,
 * and the live nodes. `--json` prints one `StatsDocument`, whose field names are stable.
 */
import { Inspection, Job, Settings, Store } from "@verk/core"
import { RedisStore } from "@verk/redis"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import { Command, Flag } from "effect/cli"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Descriptions } from "./commands.ts"

// Loaded when a command needs it (the CLI loads a module only when it is used: cold start).
const admin = Effect.promise(() => import("../Admin.ts"))

/** `verk stats --json`: one JSON document, these fields (the README lists them). */
export const StatsDocument = Schema.Struct({
  /** Sidekiq's `stat:processed` and `stat:failed`. */
  processed: Schema.Number,
  failed: Schema.Number,
  /** Jobs waiting in every queue. */
  enqueued: Schema.Number,
  retry: Schema.Number,
  scheduled: Schema.Number,
  dead: Schema.Number,
  queues: Schema.Array(
    Schema.Struct({
      name: Schema.String,
      size: Schema.Number,
      /** Seconds the next job to run has waited; 0 for an empty queue. */
      latency: Schema.Number,
      paused: Schema.Boolean,
    }),
  ),
  nodes: Schema.Array(
    Schema.Struct({
      id: Schema.String,
      host: Schema.NullOr(Schema.String),
      pid: Schema.NullOr(Schema.Number),
      queues: Schema.Array(Schema.String),
      /** The node's pools: a queue of its own is a pool of one; empty for a node that lists none. */
      pools: Schema.Array(
        Schema.Struct({
          name: Schema.String,
          /** In strict order, or in the order of the weights. */
          queues: Schema.Array(Schema.String),
          /** Each queue's weight, in `queues`' order; null for a strict order. */
          weights: Schema.NullOr(Schema.Array(Schema.Number)),
          concurrency: Schema.Number,
        }),
      ),
      busy: Schema.Number,
      concurrency: Schema.NullOr(Schema.Number),
      /** Seconds since the node's last heartbeat. */
      heartbeatAge: Schema.Number,
    }),
  ),
  /** The jobs running now, with their last progress report (`CurrentJob.progress`). */
  running: Schema.Array(
    Schema.Struct({
      node: Schema.String,
      queue: Schema.String,
      class: Schema.NullOr(Schema.String),
      jid: Schema.NullOr(Schema.String),
      /** Seconds since the job started. */
      runningFor: Schema.Number,
      progress: Schema.NullOr(Schema.Struct({ percent: Schema.Number, message: Schema.NullOr(Schema.String) })),
    }),
  ),
})
export type StatsDocument = typeof StatsDocument.Type

/** The `StatsDocument` of the store in context. */
export const read = Effect.fn("cli.stats.read")(function* () {
  const store = yield* Store.Store
  const totals = yield* store.stats()
  // Admin's list, the dashboard's too: paused queues stay visible while empty.
  const queues = yield* (yield* admin).queues()
  const processes = yield* Inspection.processes
  const now = Job.toEpochSeconds(yield* Clock.currentTimeMillis)
  return {
    processed: totals.processed,
    failed: totals.failed,
    enqueued: queues.reduce((sum, queue) => sum + queue.size, 0),
    retry: yield* store.setSize("retry"),
    scheduled: yield* store.setSize("schedule"),
    dead: yield* store.setSize("dead"),
    queues: queues.map((queue) => ({ ...queue, latency: Math.round(queue.latency * 1000) / 1000 })),
    nodes: processes.map((process) => ({
      id: process.identity,
      host: process.hostname ?? null,
      pid: process.pid ?? null,
      queues: process.queues,
      pools: process.pools.map((pool) => ({ ...pool, weights: pool.weights ?? null })),
      busy: process.busy,
      concurrency: process.concurrency ?? null,
      heartbeatAge: round(Math.max(0, now - process.beat)),
    })),
    running: processes.flatMap((process) =>
      process.work.map((work) => ({
        node: process.identity,
        queue: work.queue,
        class: work.class ?? null,
        jid: work.jid ?? null,
        runningFor: round(Math.max(0, now - work.runAt)),
        progress:
          work.progress === undefined
            ? null
            : { percent: work.progress.percent, message: work.progress.message ?? null },
      })),
    ),
  } satisfies StatsDocument
})

const round = (seconds: number): number => Math.round(seconds * 10) / 10

/** `4.2s`, `3m12s`, `2h05m`: an age at a glance. */
export const age = (seconds: number): string => {
  if (seconds < 60) return `${round(seconds)}s`
  const whole = Math.floor(seconds)
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, "0")}m`
}

/** Columns padded to their widest cell; numbers right-aligned. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string | number>>) => {
  const cells = [header, ...rows.map((row) => row.map(String))]
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? "").length)))
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => typeof row[column] === "number"))
  return cells.map((row) =>
    row
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join("  ")
      .trimEnd(),
  )
}

type NodeStats = StatsDocument["nodes"][number]
type PoolStats = NodeStats["pools"][number]

/** A pool as VERK_QUEUES writes it, without its size: `default`, `critical>default`, `a*3+b*1`. */
const poolSpec = (pool: PoolStats): string => Settings.poolName(pool.queues, pool.weights ?? undefined)

/** A pool sharing its slots among queues (by order or weight), not a queue's own. */
const shared = (pool: PoolStats): boolean => pool.queues.length > 1 || pool.weights !== null

/** A node's queues, pool by pool (`critical>default,mail`); its plain list when it lists no pools. */
const nodeQueues = (node: NodeStats): string =>
  (node.pools.length === 0 ? node.queues : node.pools.map(poolSpec)).join(",") || "-"

/** The shared pools of every node: which queues share how many slots, and in what order. */
const poolsTable = (nodes: ReadonlyArray<NodeStats>): ReadonlyArray<string> => {
  const rows = nodes.flatMap((node) =>
    node.pools
      .filter(shared)
      .map((pool) => [
        node.id,
        pool.name,
        poolSpec(pool),
        pool.weights === null ? "strict" : "weighted",
        pool.concurrency,
      ]),
  )
  return rows.length === 0 ? [] : ["", ...table(["NODE", "POOL", "QUEUES", "ORDER", "SLOTS"], rows)]
}

/**
 * `verk stats` without `--json`: the counters, then a table of queues, one of nodes (their queues
 * pool by pool), and one of the shared pools when a node runs any.
 */
export const render = (stats: StatsDocument): ReadonlyArray<string> => [
  `processed ${stats.processed}  failed ${stats.failed}`,
  `enqueued ${stats.enqueued}  retry ${stats.retry}  scheduled ${stats.scheduled}  dead ${stats.dead}`,
  "",
  ...(stats.queues.length === 0
    ? ["no queues"]
    : table(
        ["QUEUE", "SIZE", "LATENCY", "STATE"],
        stats.queues.map((queue) => [queue.name, queue.size, age(queue.latency), queue.paused ? "paused" : "running"]),
      )),
  "",
  ...(stats.nodes.length === 0
    ? ["no nodes"]
    : table(
        ["NODE", "HOST", "PID", "QUEUES", "BUSY", "HEARTBEAT"],
        stats.nodes.map((node) => [
          node.id,
          node.host ?? "-",
          node.pid ?? "-",
          nodeQueues(node),
          node.concurrency === null ? `${node.busy}` : `${node.busy}/${node.concurrency}`,
          `${age(node.heartbeatAge)} ago`,
        ]),
      )),
  ...poolsTable(stats.nodes),
  ...(stats.running.length === 0
    ? []
    : [
        "",
        ...table(
          ["RUNNING", "QUEUE", "JID", "FOR", "PROGRESS"],
          stats.running.map((job) => [
            job.class ?? "?",
            job.queue,
            job.jid ?? "-",
            age(job.runningFor),
            job.progress === null ? "-" : progressText(job.progress),
          ]),
        ),
      ]),
]

/** `40% resizing`: a job's last progress report in a cell; control characters (escapes) become spaces. */
const progressText = (progress: { readonly percent: number; readonly message: string | null }): string =>
  `${Math.round(progress.percent)}%${progress.message === null ? "" : ` ${progress.message.replace(/[\s\p{Cc}]+/gu, " ")}`}`

/** `verk stats [--json]`. */
export const stats = Command.make(
  "stats",
  {
    json: Flag.Boolean("json").pipe(
      Flag.withDefault(false),
      Flag.withDescription("print one JSON document (fields in the README)"),
    ),
  },
  Effect.fn(function* ({ json }) {
    const document = yield* read()
    if (json) return yield* Console.log(JSON.stringify(document))
    for (const line of render(document)) yield* Console.log(line)
  }, Effect.provide(RedisStore.layerConfig)),
).pipe(Command.withDescription(Descriptions.stats))
