/**
 * Running jobs' progress reports on their way to the store. A report is kept on the job's lease
 * (the heartbeat writes it into the job's work entry) and published as a `JobProgress` event; it
 * asks for an early heartbeat, and the heartbeat answers such asks at most every
 * `ProgressInterval`: a job may report a thousand times a second, the store sees a few writes.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type { Progress, ProgressSink } from "../CurrentJob.ts"
import { Events, JobProgress } from "../Events.ts"
import type * as Job from "../Job.ts"
import type { Lease } from "./Lease.ts"

/** The least time between two writes that progress reports ask for (a node's, all jobs together). */
export const ProgressInterval = "250 millis"

/** Where running jobs' progress reports go, and how the heartbeat hears of them. */
export class ProgressBoard extends Context.Service<
  ProgressBoard,
  {
    /** Where the reports of `job`, running under `lease`, go. */
    readonly sink: (lease: Lease, job: Job.Job) => ProgressSink
    /** Waits until a report came since the last wait ended. */
    readonly changed: Effect.Effect<void>
  }
>()("@verk/core/ProgressBoard") {}

/** The node's board; its reports are published on `Events`. */
export const layer: Layer.Layer<ProgressBoard, never, Events> = Layer.effect(
  ProgressBoard,
  Effect.gen(function* () {
    const events = yield* Events
    // One pending ask is enough: the write reads every lease's last report.
    const asks = yield* Queue.dropping<void>(1)
    const sink =
      (lease: Lease, job: Job.Job): ProgressSink =>
      (progress: Progress) =>
        Effect.suspend(() => {
          lease.progress = progress
          Queue.offerUnsafe(asks, undefined)
          if (!events.hasSubscribers()) return Effect.void
          return events.publish(
            new JobProgress({
              queue: lease.queue,
              jid: job.jid,
              className: job.class,
              percent: progress.percent,
              message: progress.message,
            }),
          )
        })
    return { sink, changed: Queue.take(asks) }
  }),
)
