/**
 * Section 12 of run.ts: flow control beside BullMQ's. Two drains each, one worker process at
 * concurrency 25, the jobs held back until it is ready (as section 1):
 *
 * - rate-limited: no-op jobs under a limit of `RatePerSecond` starts a second across every node
 *   (Verk: `Limits.rate`, a sliding window; BullMQ: the worker's `limiter`, the queue's window);
 * - concurrency-limited: jobs that wait `AsyncWaitMillis` under a limit of `ConcurrentJobs` running
 *   at once across every node (Verk: `Limits.concurrency`; BullMQ: `Queue.setGlobalConcurrency`).
 *
 * The figures: the steady rate against the rate the limit allows at best (for the rate limit, past
 * its first window: a full window's starts may all come at once), the worker process's
 * CPU and redis-server's per job (a Verk job over its limit is snoozed and fetched again: the cost
 * of that churn shows here), and the peak RSS.
 */
import type { Redis } from "ioredis"
import * as Peer from "./bullmq.ts"
import { costRows, sideBySide } from "./drainRows.ts"
import type { Row, Section } from "./report.ts"
import { fmtInt } from "./support.ts"
import * as Verk from "./verk.ts"
import { AsyncWaitMillis, ConcurrentJobs, RatePerSecond } from "./verkWorkers.ts"

export interface FlowRow {
  readonly kind: "rate-limited" | "concurrency-limited"
  readonly jobs: number
  /** The steady rate the limit allows at best (jobs/s). */
  readonly ceiling: number
}

/**
 * Ten seconds' worth of jobs at each limit's best rate; `--quick`, two seconds' of the rate limit
 * (past its first window there must be one more) and one of the concurrency limit.
 */
export const plan = (quick: boolean): ReadonlyArray<FlowRow> => {
  const concurrencyCeiling = (ConcurrentJobs * 1_000) / AsyncWaitMillis
  return [
    { kind: "rate-limited", jobs: RatePerSecond * (quick ? 2 : 10), ceiling: RatePerSecond },
    { kind: "concurrency-limited", jobs: concurrencyCeiling * (quick ? 1 : 10), ceiling: concurrencyCeiling },
  ]
}

export interface FlowResult {
  readonly rows: ReadonlyArray<{
    readonly row: FlowRow
    readonly verk: Verk.DrainResult
    readonly bullmq: Verk.DrainResult
  }>
}

export interface FlowOptions {
  readonly url: string
  readonly port: number
  readonly admin: Redis
  readonly settleMillis: number
  readonly bundles: Verk.DrainOptions["bundles"]
  readonly fresh: (label: string) => Promise<void>
}

const Concurrency = 25

const label = (row: FlowRow) =>
  row.kind === "rate-limited"
    ? `rate-limited (${RatePerSecond}/s), no-op`
    : `concurrency-limited (${ConcurrentJobs} at once), async ${AsyncWaitMillis} ms`

export const run = async (rows: ReadonlyArray<FlowRow>, options: FlowOptions): Promise<FlowResult> => {
  const results: Array<FlowResult["rows"][number]> = []
  for (const row of rows) {
    const drain: Verk.DrainOptions = {
      url: options.url,
      admin: options.admin,
      jobs: row.jobs,
      concurrency: Concurrency,
      processes: 1,
      settleMillis: options.settleMillis,
      bundles: options.bundles,
      workload: { kind: row.kind, argBytes: 10 },
    }
    await options.fresh(`Flow control, Verk: ${fmtInt(row.jobs)} × ${label(row)}`)
    const verk = await Verk.enqueueAndDrain(drain)
    await options.fresh(`Flow control, BullMQ: ${fmtInt(row.jobs)} × ${label(row)}`)
    const bullmq = await Peer.enqueueAndDrain(options.port, drain)
    results.push({ row, verk, bullmq })
  }
  return { rows: results }
}

/**
 * The steady rate the limit governs: for the rate limit, the starts after its first window's
 * (which may all come at once) over first → last perform; the steady rate for the other.
 */
const limitedRate = (row: FlowRow, drain: Verk.DrainResult) =>
  row.kind === "rate-limited" ? (drain.jobs - row.ceiling) / drain.steadySeconds : drain.steadyPerSecond

export const section = (result: FlowResult): Section => ({
  scenario: "flow-control",
  title: `12. Flow control: a limited worker, one worker process at concurrency ${Concurrency} (Verk: Limits; BullMQ: its limiter and global concurrency)`,
  systems: ["verk", "bullmq"],
  rows: result.rows.flatMap(({ row, verk, bullmq }): Array<Row> => {
    const both = sideBySide(verk, bullmq)
    return [
      {
        metric: `${label(row)}: drain rate`,
        unit: "jobs/s",
        values: both((drain) => limitedRate(row, drain)),
        note:
          row.kind === "rate-limited"
            ? `${fmtInt(row.jobs)} jobs; past the first window; the limit allows ${fmtInt(row.ceiling)}/s`
            : `${fmtInt(row.jobs)} jobs; the limit allows ${fmtInt(row.ceiling)}/s at best`,
      },
      {
        metric: `${label(row)}: drain rate / the limit's best`,
        unit: "×",
        values: both((drain) => limitedRate(row, drain) / row.ceiling),
      },
      ...costRows(label(row), verk, bullmq),
    ]
  }),
})

/** Every drain of the section, to check each performed each job exactly once. */
export const drains = (result: FlowResult) => result.rows.flatMap(({ verk, bullmq }) => [verk, bullmq])
