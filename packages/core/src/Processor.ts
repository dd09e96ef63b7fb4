/**
 * Runs one fetched job and writes its outcome: decode, resolve the worker, perform (with the
 * running job in context and the worker's timeout), then ack, retry or kill. The outcome is
 * written in the same atomic step as the ack, so a crash at any point leaves the job either
 * in-progress (it runs again) or with its outcome recorded, never lost. A retry changes only the
 * failure's keys in the job's own text (`Job.patch`); a death goes through `DeadLetter`.
 */
import { Cause, Clock, Context, DateTime, Effect, Exit, Layer, LogLevel, Result } from "effect"
import * as Acker from "./Acker.ts"
import { Client } from "./Client.ts"
import { CurrentJob } from "./CurrentJob.ts"
import { DeadLetter, OutcomeRetry } from "./DeadLetter.ts"
import { Events, JobFailed, JobFinished, JobStarted } from "./Events.ts"
import * as Job from "./Job.ts"
import { Node } from "./Node.ts"
import * as RetryPolicy from "./RetryPolicy.ts"
import { Settings } from "./Settings.ts"
import { Stats } from "./Stats.ts"
import { Store, type StoreError } from "./Store.ts"
import { type JobServices, type RegisteredWorker, WorkerRegistry } from "./Worker.ts"

/** Text of anything thrown, without ever throwing itself (a getter or `toString` may). */
const textOf = (value: unknown): string => {
  try {
    if (typeof value === "string") return value
    const json = JSON.stringify(value)
    return json === undefined ? String(value) : json
  } catch {
    try {
      return String(value)
    } catch {
      return "an error that cannot be shown"
    }
  }
}

/**
 * What a failure writes into the job: Sidekiq's error class, message and backtrace. Total: an
 * error whose fields cannot be read (a throwing getter, a cycle) still gets a description.
 */
export const describeFailure = (cause: Cause.Cause<unknown>): Job.Failure => {
  try {
    const error = Cause.squash(cause)
    if (error instanceof Error) {
      const tag = (error as { readonly _tag?: unknown })._tag
      return {
        errorClass: typeof tag === "string" ? tag : error.name,
        message: error.message === "" ? String(tag ?? error.name) : String(error.message),
        backtrace: error.stack
          ?.split("\n")
          .slice(1)
          .map((line) => line.trim()),
      }
    }
    const tag = typeof error === "object" && error !== null ? (error as { readonly _tag?: unknown })._tag : undefined
    return { errorClass: typeof tag === "string" ? tag : "Error", message: textOf(error) }
  } catch (thrown) {
    return { errorClass: "Error", message: `an error that cannot be described (${textOf(thrown)})` }
  }
}

/** The `error_class` of a job whose handling failed in Verk itself (not in its worker). */
export const ProcessingFailedClass = "Verk::ProcessingFailed"

/** Retries allowed: the job's own setting, else the worker's, else the node's default. */
const retryLimit = (job: Job.Job, worker: RegisteredWorker | undefined, defaultLimit: number): number => {
  const fromJob = Job.retryLimit(job)
  if (fromJob !== undefined) return fromJob
  if (worker?.retry === false) return 0
  if (typeof worker?.retry === "number") return Math.max(0, worker.retry)
  return defaultLimit
}

/**
 * How a run ended: `retried` and `dead` are failures; `interrupted` (shutdown) leaves the job in
 * progress, to run again; `unrecorded` (even dead-lettering it failed, logged at error level)
 * leaves it there too.
 */
export type Outcome = "finished" | "retried" | "dead" | "interrupted" | "unrecorded"

export class Processor extends Context.Service<
  Processor,
  {
    /**
     * Process one raw payload taken from `queue` into this node's in-progress list; `performed`
     * runs as soon as the job's own code has ended, before its outcome is written. Never fails:
     * an outcome write that fails is retried until it lands (the job stays in progress meanwhile),
     * and any other failure while handling the job (a defect in Verk, a payload no code expected)
     * ends it in the dead set with what failed. Interruption (shutdown) writes no outcome: the job
     * is requeued by the caller.
     */
    readonly process: (queue: string, raw: string, performed?: Effect.Effect<void>) => Effect.Effect<Outcome>
  }
>()("@verk/core/Processor") {
  static readonly layer: Layer.Layer<
    Processor,
    never,
    Store | Client | WorkerRegistry | Events | Stats | Settings | Node | DeadLetter
  > = Layer.effect(
    Processor,
    Effect.gen(function* () {
      const store = yield* Store
      const client = yield* Client
      const registry = yield* WorkerRegistry
      const events = yield* Events
      const stats = yield* Stats
      const settings = yield* Settings
      const deadLetter = yield* DeadLetter
      const node = (yield* Node).id
      const ack = Acker.make(store, node)
      const levels = settings.logLevels

      // Skips building the line and its annotations when the level is off: this runs for every job.
      const log = (level: LogLevel.LogLevel, message: () => string, annotations: Record<string, unknown>) =>
        level === "None" || level === "All"
          ? Effect.void
          : Effect.flatMap(LogLevel.isEnabled(level), (enabled) =>
              enabled ? Effect.logWithLevel(level)(message()).pipe(Effect.annotateLogs(annotations)) : Effect.void,
            )

      /** What one run has done so far: what it decoded, and the outcome once it is in the store. */
      interface Progress {
        job: Job.Job | undefined
        recorded: Outcome | undefined
      }

      const rejectMalformed = Effect.fnUntraced(function* (queue: string, error: Job.MalformedJob) {
        yield* deadLetter.bury({
          from: { _tag: "InProgress", queue, node },
          raw: error.raw,
          queue,
          failure: { errorClass: "MalformedJob", message: error.reason },
          reason: error.message,
        })
        yield* stats.recordFailed(queue, Job.MalformedClass, 0)
      })

      const recordOutcome = Effect.fnUntraced(function* (
        queue: string,
        raw: string,
        job: Job.Job,
        worker: RegisteredWorker | undefined,
        exit: Exit.Exit<void, unknown>,
        startedMillis: number,
        progress: Progress,
      ): Effect.fn.Return<Outcome, StoreError> {
        const now = yield* Clock.currentTimeMillis
        const durationMillis = now - startedMillis
        const annotations = { queue, class: job.class, jid: job.jid, duration_ms: durationMillis }
        if (Exit.isSuccess(exit)) {
          yield* ack(queue, raw)
          progress.recorded = "finished"
          yield* stats.recordProcessed(queue, job.class, durationMillis)
          yield* events.publish(new JobFinished({ queue, jid: job.jid, className: job.class, durationMillis }))
          yield* log(levels.done, () => `done ${job.class} ${job.jid} in ${durationMillis} ms`, annotations)
          return "finished"
        }
        const failure = describeFailure(exit.cause)
        const changes = Job.failureChanges(job, failure, now)
        const failures = Job.failureCount(job) + 1
        const limit = retryLimit(job, worker, settings.maxRetries)
        const policy = worker?.retryPolicy ?? RetryPolicy.sidekiqBackoff
        const runAt =
          failures > limit ? undefined : yield* RetryPolicy.nextRunAt(policy, DateTime.makeUnsafe(now), failures)
        yield* stats.recordFailed(queue, job.class, durationMillis)
        const message = `${failure.errorClass}: ${failure.message}`
        const failed = (retryAt: number | undefined) =>
          new JobFailed({ queue, jid: job.jid, className: job.class, error: message, failures, retryAt })
        if (runAt === undefined) {
          const reason = failures > limit ? `retries exhausted after ${failures} failures: ${message}` : message
          yield* deadLetter.bury({
            from: { _tag: "InProgress", queue, node },
            raw,
            queue,
            failure,
            reason,
            job,
            logLevel: levels.fail,
            nowMillis: now,
          })
          progress.recorded = "dead"
          yield* events.publish(failed(undefined))
          return "dead"
        }
        const retryAt = Job.toEpochSeconds(DateTime.toEpochMillis(runAt))
        const payload = Job.patch(raw, changes)
        // Cannot happen for a payload that decoded; if it does, the job still gets an outcome.
        if (Result.isFailure(payload)) return yield* Effect.die(new Error(`cannot patch the job: ${payload.failure}`))
        yield* store.retry(queue, node, raw, payload.success, retryAt)
        progress.recorded = "retried"
        yield* events.publish(failed(retryAt))
        yield* log(
          levels.fail,
          () => `fail ${job.class} ${job.jid} (failure ${failures}, retry at ${runAt}): ${message}`,
          annotations,
        )
        return "retried"
      })

      const run = Effect.fnUntraced(function* (
        queue: string,
        raw: string,
        performed: Effect.Effect<void>,
        progress: Progress,
      ): Effect.fn.Return<Outcome, StoreError> {
        const decoded = yield* Effect.result(Job.decode(raw))
        if (Result.isFailure(decoded)) {
          yield* rejectMalformed(queue, decoded.failure)
          progress.recorded = "dead"
          return "dead"
        }
        const job = decoded.success
        progress.job = job
        // One span per job (this function's); it names the job rather than opening another one.
        yield* Effect.annotateCurrentSpan({ queue, class: job.class, jid: job.jid })
        const resolved = yield* Effect.result(registry.resolve(job.class))
        const worker = Result.isSuccess(resolved) ? resolved.success : undefined
        const started = yield* Clock.currentTimeMillis
        yield* events.publish(new JobStarted({ queue, jid: job.jid, className: job.class }))
        yield* log(levels.start, () => `start ${job.class} ${job.jid}`, { queue, class: job.class, jid: job.jid })
        const perform: Effect.Effect<void, unknown, JobServices> = Result.isFailure(resolved)
          ? Effect.fail(resolved.failure)
          : worker?.timeout === undefined
            ? resolved.success.run(job.args)
            : Effect.timeout(resolved.success.run(job.args), worker.timeout)
        const exit = yield* Effect.suspend(() =>
          perform.pipe(
            Effect.provideService(CurrentJob, CurrentJob.fromJob(job)),
            Effect.provideService(Client, client),
          ),
        ).pipe(Effect.exit)
        yield* performed
        // Interrupted by shutdown: write nothing; the job is still in-progress and goes back.
        if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) return "interrupted"
        // Redis may be away: keep trying, each attempt whole, until the outcome is written.
        return yield* Effect.uninterruptible(recordOutcome(queue, raw, job, worker, exit, started, progress)).pipe(
          Effect.tapError((error) =>
            Effect.logWarning(`Could not record the outcome of ${job.jid} yet, retrying: ${error.message}`),
          ),
          Effect.retry(OutcomeRetry),
        )
      })

      /**
       * Anything else that went wrong (a defect in Verk, a hostile payload's edge case) still ends
       * in an outcome: dead, with what went wrong, unless one was already written.
       */
      const salvage = Effect.fnUntraced(function* (
        queue: string,
        raw: string,
        progress: Progress,
        cause: Cause.Cause<unknown>,
      ): Effect.fn.Return<Outcome> {
        if (progress.recorded !== undefined) {
          yield* Effect.logError(`A job's outcome (${progress.recorded}) is recorded, but then this failed`, cause)
          return progress.recorded
        }
        const failure = describeFailure(cause)
        const message = `Verk could not handle this job: ${failure.errorClass}: ${failure.message}`
        yield* stats.recordFailed(queue, progress.job?.class ?? Job.MalformedClass, 0)
        yield* deadLetter.bury({
          from: { _tag: "InProgress", queue, node },
          raw,
          queue,
          failure: { ...failure, errorClass: ProcessingFailedClass, message },
          reason: message,
          job: progress.job,
          logLevel: "Error",
        })
        return "dead"
      })

      const process = Effect.fn("Processor.process")(function* (
        queue: string,
        raw: string,
        performed: Effect.Effect<void>,
      ): Effect.fn.Return<Outcome, StoreError> {
        const progress: Progress = { job: undefined, recorded: undefined }
        return yield* run(queue, raw, performed, progress).pipe(
          Effect.catchCause((cause) =>
            Cause.hasInterruptsOnly(cause) || Cause.hasFails(cause)
              ? Effect.failCause(cause)
              : salvage(queue, raw, progress, cause),
          ),
        )
      })

      return {
        process: (queue: string, raw: string, performed: Effect.Effect<void> = Effect.void) =>
          process(queue, raw, performed).pipe(
            Effect.catch((error) =>
              Effect.as(
                Effect.logError(`Could not record a job's outcome; it stays in progress: ${error.message}`),
                "unrecorded" as const,
              ),
            ),
            // Only if salvaging failed too: the job stays in progress, and this says so.
            Effect.catchCause((cause) =>
              Cause.hasInterruptsOnly(cause)
                ? Effect.failCause(cause as Cause.Cause<never>)
                : Effect.as(
                    Effect.logError("Could not record a job's outcome; it stays in progress", cause),
                    "unrecorded" as const,
                  ),
            ),
          ),
      }
    }),
  )
}
