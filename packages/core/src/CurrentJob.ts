/**
 * The job being performed, readable from inside `perform` (Verk's `current_job`), and its progress
 * report (`CurrentJob.progress(40, "resizing")`), which the busy list shows.
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as Job from "./Job.ts"

/** How far a running job is: `percent` in 0-100 and a short message. */
export interface Progress {
  readonly percent: number
  readonly message: string | undefined
}

/** The longest message a progress report keeps; a longer one is cut. */
export const MaxProgressMessage = 200

/** A progress that is no number (NaN, infinite): refused, the last report stays. */
export class InvalidProgress extends Data.TaggedError("InvalidProgress")<{ readonly percent: number }> {
  override get message(): string {
    return `A job's progress must be a finite number (0-100), not ${this.percent}`
  }
}

/**
 * A report checked: a finite percent is clamped into 0-100 (a computed ratio may overshoot a
 * little), anything else is refused; the message is cut to `MaxProgressMessage` characters.
 */
export const checkProgress = (percent: number, message?: string): Progress | InvalidProgress =>
  Number.isFinite(percent)
    ? {
        percent: Math.min(100, Math.max(0, percent)),
        message: message === undefined ? undefined : message.slice(0, MaxProgressMessage),
      }
    : new InvalidProgress({ percent })

/** Where a running job's reports go (the node keeps the last one and writes it, coalesced). */
export type ProgressSink = (progress: Progress) => Effect.Effect<void>

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
    /** Reports how far the job is (see `progress`). */
    readonly progress: (percent: number, message?: string) => Effect.Effect<void, InvalidProgress>
  }
>()("@verk/core/CurrentJob") {
  /** The service's value for `job`; its progress goes to `sink` (nowhere when absent). */
  static fromJob(job: Job.Job, sink?: ProgressSink): CurrentJob["Service"] {
    return new CurrentJobValue(job, sink)
  }
}

/**
 * Reports the running job's progress: `percent` (clamped into 0-100; NaN or infinite fails with
 * `InvalidProgress`) and an optional short message. It shows in the busy list (Inspection,
 * `verk stats`, Verk Web) and as a `JobProgress` event. Call it as often as you like: the node
 * keeps the last report and writes it a few times a second at most.
 */
export const progress = (percent: number, message?: string): Effect.Effect<void, InvalidProgress, CurrentJob> =>
  CurrentJob.use((job) => job.progress(percent, message))

/** The service's value for one job; `enqueuedAt` is made when read (most jobs never ask). */
class CurrentJobValue {
  readonly jid: string
  readonly queue: string
  readonly className: string
  readonly retryCount: number | undefined
  readonly job: Job.Job
  readonly #sink: ProgressSink | undefined
  #enqueuedAt: DateTime.Utc | undefined | null = null
  constructor(job: Job.Job, sink: ProgressSink | undefined) {
    this.jid = job.jid
    this.queue = job.queue
    this.className = job.class
    this.retryCount = job.retry_count
    this.job = job
    this.#sink = sink
  }
  get enqueuedAt(): DateTime.Utc | undefined {
    if (this.#enqueuedAt === null) {
      this.#enqueuedAt =
        this.job.enqueued_at === undefined ? undefined : DateTime.makeUnsafe(this.job.enqueued_at * 1000)
    }
    return this.#enqueuedAt
  }
  readonly progress = (percent: number, message?: string): Effect.Effect<void, InvalidProgress> => {
    const checked = checkProgress(percent, message)
    if (checked instanceof InvalidProgress) return Effect.fail(checked)
    return this.#sink === undefined ? Effect.void : this.#sink(checked)
  }
}
