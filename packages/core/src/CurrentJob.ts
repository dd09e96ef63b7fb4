/**
 * The job being performed, readable from inside `perform` (Verk's `current_job`).
 */
import { Context, DateTime } from "effect"
import type * as Job from "./Job.ts"

export class CurrentJob extends Context.Service<
  CurrentJob,
  {
    readonly jid: string
    readonly queue: string
    readonly className: string
    /** Sidekiq's `retry_count`: absent on the first run, 0 on the first retry. */
    readonly retryCount: number | undefined
    readonly enqueuedAt: DateTime.Utc | undefined
    /** The whole wire job, extra keys included. */
    readonly job: Job.Job
  }
>()("@verk/core/CurrentJob") {
  static fromJob(job: Job.Job): CurrentJob["Service"] {
    let enqueuedAt: DateTime.Utc | undefined | null = null
    return {
      jid: job.jid,
      queue: job.queue,
      className: job.class,
      retryCount: job.retry_count,
      // Made when read: most jobs never ask.
      get enqueuedAt() {
        if (enqueuedAt === null) {
          enqueuedAt = job.enqueued_at === undefined ? undefined : DateTime.makeUnsafe(job.enqueued_at * 1000)
        }
        return enqueuedAt
      },
      job,
    }
  }
}
