/**
 * The job being performed, readable from inside `perform` (Verk's `current_job`).
 */
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import type * as Job from "./Job.ts"

/** The job being performed: every job's `perform` can read it (`yield* CurrentJob`). */
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
  /** The service's value for `job`. */
  static fromJob(job: Job.Job): CurrentJob["Service"] {
    return new CurrentJobValue(job)
  }
}

/** The service's value for one job; `enqueuedAt` is made when read (most jobs never ask). */
class CurrentJobValue {
  readonly jid: string
  readonly queue: string
  readonly className: string
  readonly retryCount: number | undefined
  readonly job: Job.Job
  #enqueuedAt: DateTime.Utc | undefined | null = null
  constructor(job: Job.Job) {
    this.jid = job.jid
    this.queue = job.queue
    this.className = job.class
    this.retryCount = job.retry_count
    this.job = job
  }
  get enqueuedAt(): DateTime.Utc | undefined {
    if (this.#enqueuedAt === null) {
      this.#enqueuedAt =
        this.job.enqueued_at === undefined ? undefined : DateTime.makeUnsafe(this.job.enqueued_at * 1000)
    }
    return this.#enqueuedAt
  }
}
