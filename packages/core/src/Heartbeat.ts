/**
 * This node's heartbeat: Verk's TTL key (its expiry tells other nodes to recover our jobs) and
 * Sidekiq's process registry (`processes`, `<identity>`, `<identity>:work`), so that Sidekiq's own
 * tools see our nodes. The time to live is three intervals: a node survives two missed beats.
 */
import { hostname } from "node:os"
import { Clock, Duration, Effect } from "effect"
import { Settings } from "./Config.ts"
import { Node } from "./Node.ts"
import { Store } from "./Store.ts"

export const ttlFor = (interval: Duration.Duration): Duration.Duration => Duration.times(interval, 3)

/** A job running on this node, as Sidekiq's `<identity>:work` shows it. */
export interface RunningJob {
  readonly queue: string
  readonly raw: string
  readonly startedMillis: number
}

const sidekiqWork = (jobs: ReadonlyArray<RunningJob>): ReadonlyArray<readonly [string, string]> =>
  jobs.flatMap((job, index) => {
    try {
      const payload: unknown = JSON.parse(job.raw)
      const entry = JSON.stringify({ queue: job.queue, payload, run_at: Math.floor(job.startedMillis / 1000) })
      return [[`w${index}`, entry] as const]
    } catch {
      return []
    }
  })

/** Beats once; the caller repeats it. */
export const beat = Effect.fn("Heartbeat.beat")(function* (running: ReadonlyArray<RunningJob>, startedMillis: number) {
  const store = yield* Store
  const node = yield* Node
  const settings = yield* Settings
  const now = yield* Clock.currentTimeMillis
  const info = JSON.stringify({
    hostname: hostname(),
    started_at: startedMillis / 1000,
    pid: process.pid,
    tag: "verk-effect",
    concurrency: Object.values(settings.queues).reduce((sum, size) => sum + size, 0),
    queues: Object.keys(settings.queues),
    labels: ["verk-effect"],
    identity: node.id,
  })
  yield* store.heartbeat({
    node: node.id,
    ttlMillis: Duration.toMillis(ttlFor(settings.heartbeatInterval)),
    now,
    info,
    busy: running.length,
    work: sidekiqWork(running),
  })
  return now
})
