/**
 * Runs one leased job (Pool.ts) and writes its outcome: decode, resolve the worker, perform (with
 * the running job in context and the worker's timeout) into an Exit, free the worker, `decide`
 * (Decide.ts), then write what it says: ack, retry or dead. The outcome is written in the same
 * atomic step as the removal from in-progress, so a crash at any point leaves the job either
 * in-progress (it runs again) or with its outcome recorded, never lost. A retry changes only the
 * failure's keys in the job's own text (`Job.patch`); a death goes through `DeadLetter`.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as References from "effect/References"
import * as Result from "effect/Result"
import * as Tracer from "effect/Tracer"
import * as Acker from "./Acker.ts"
import { Client } from "./Client.ts"
import { CurrentJob } from "./CurrentJob.ts"
import { DeadLetter, OutcomeRetry } from "./DeadLetter.ts"
import * as Decide from "./Decide.ts"
import { Events, JobFailed, JobFinished, JobStarted } from "./Events.ts"
import * as Job from "./Job.ts"
import { Node } from "./Node.ts"
import type { Lease } from "./Pool.ts"
import * as RetryPolicy from "./RetryPolicy.ts"
import { Settings } from "./Settings.ts"
import { Stats } from "./Stats.ts"
import { Store, type StoreError } from "./Store.ts"
import * as Trace from "./Trace.ts"
import { type RegisteredWorker, type UnknownJobClass, WorkerRegistry } from "./Worker.ts"

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

/** `first` then `second`, without a step for a `first` that does nothing (most do: this runs per job). */
const andThenUnlessVoid = <A, E, R, E2, R2>(
  first: Effect.Effect<void, E2, R2>,
  second: Effect.Effect<A, E, R>,
): Effect.Effect<A, E | E2, R | R2> => (first === Effect.void ? second : Effect.andThen(first, second))

const Finished: Effect.Effect<"finished"> = Effect.succeed("finished")
const Interrupted: Effect.Effect<"interrupted"> = Effect.succeed("interrupted")

/** The wait before an outcome write is tried again the first time (then `OutcomeRetry`'s). */
const FirstRetryDelay = "50 millis"

/** The `error_class` of a job whose handling failed in Verk itself (not in its worker). */
export const ProcessingFailedClass = "Verk::ProcessingFailed"

/** The event of a failed run, with what an error tracker needs; `retryAt` absent when it died. */
const failedEvent = (
  queue: string,
  job: Job.Job,
  failure: Job.Failure,
  failures: number,
  retryAt: number | undefined,
): JobFailed =>
  new JobFailed({
    queue,
    jid: job.jid,
    className: job.class,
    error: `${failure.errorClass}: ${failure.message}`,
    failures,
    retryAt,
    job,
    errorClass: failure.errorClass,
    errorMessage: failure.message,
    backtrace: failure.backtrace,
  })

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
     * Process one leased job (taken from `lease.queue` into this node's in-progress list); its
     * worker is freed as soon as the job's own code has ended, before its outcome is written. Never fails:
     * an outcome write that fails is retried until it lands (the job stays in progress meanwhile),
     * and any other failure while handling the job (a defect in Verk, a payload no code expected)
     * ends it in the dead set with what failed. Interruption (shutdown) writes no outcome: the job
     * is requeued by the caller.
     */
    readonly process: (lease: Lease) => Effect.Effect<Outcome>
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
      const ack = yield* Acker.make(store, node)
      const levels = settings.logLevels

      // A job's log line is built only when its level is on: this runs for every job.
      const logsAt = (fiber: Fiber.Fiber<unknown, unknown>, level: LogLevel.LogLevel): level is LogLevel.Severity =>
        level !== "None" && level !== "All" && !LogLevel.isGreaterThan(fiber.getRef(References.MinimumLogLevel), level)
      const logLine = (level: LogLevel.Severity, message: string, annotations: Record<string, unknown>) =>
        Effect.logWithLevel(level)(message).pipe(Effect.annotateLogs(annotations))

      /** What one run has done so far: what it decoded, its outcome write, and that outcome once written. */
      interface Progress {
        job: Job.Job | undefined
        /** The outcome write under way (see `decided`): retried should it fail. */
        writing: Effect.Effect<Outcome, StoreError> | undefined
        recorded: Outcome | undefined
        /** The job's span, when it has one (see `process`). */
        span: Tracer.Span | undefined
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

      /** The common outcome: one step to wait for the ack, one after it (this runs for every job that succeeds). */
      const finished = (lease: Lease, job: Job.Job, nowMillis: number, progress: Progress) =>
        Effect.flatMap(ack(lease.queue, lease.raw), () =>
          Effect.withFiber((fiber) => {
            progress.recorded = "finished"
            const { queue } = lease
            const durationMillis = nowMillis - lease.startedMillis
            stats.recordProcessedUnsafe(queue, job.class, durationMillis, nowMillis)
            const announce = events.publishWith(
              () => new JobFinished({ queue, jid: job.jid, className: job.class, durationMillis }),
            )
            const logged = logsAt(fiber, levels.done)
              ? logLine(levels.done, `done ${job.class} ${job.jid} in ${durationMillis} ms`, {
                  queue,
                  class: job.class,
                  jid: job.jid,
                  duration_ms: durationMillis,
                })
              : Effect.void
            return andThenUnlessVoid(announce, andThenUnlessVoid(logged, Finished))
          }),
        )

      /** Writes a failure's outcome (retry or dead); the decision's time is the run's end. */
      const writeFailure = Effect.fnUntraced(function* (
        lease: Lease,
        job: Job.Job,
        decision: Decide.Retry | Decide.Dead,
        nowMillis: number,
        progress: Progress,
      ): Effect.fn.Return<Outcome, StoreError> {
        const { queue, raw } = lease
        const durationMillis = nowMillis - lease.startedMillis
        switch (decision._tag) {
          case "Dead": {
            const { failure, failures, reason } = decision
            yield* deadLetter.bury({
              from: { _tag: "InProgress", queue, node },
              raw,
              queue,
              failure,
              reason,
              job,
              logLevel: levels.fail,
              nowMillis,
            })
            progress.recorded = "dead"
            // Counted once written: a write that failed is tried again whole.
            yield* stats.recordFailed(queue, job.class, durationMillis)
            yield* events.publish(failedEvent(queue, job, failure, failures, undefined))
            return "dead"
          }
          case "Retry": {
            const { failure, failures, at } = decision
            const retryAt = Job.toEpochSeconds(DateTime.toEpochMillis(at))
            const payload = Job.patch(raw, decision.changes)
            // Cannot happen for a payload that decoded; if it does, the job still gets an outcome.
            if (Result.isFailure(payload))
              return yield* Effect.die(new Error(`cannot patch the job: ${payload.failure}`))
            yield* store.retry(queue, node, raw, payload.success, retryAt)
            progress.recorded = "retried"
            yield* stats.recordFailed(queue, job.class, durationMillis)
            yield* events.publish(failedEvent(queue, job, failure, failures, retryAt))
            if (logsAt(yield* Effect.fiber, levels.fail)) {
              yield* logLine(
                levels.fail,
                `fail ${job.class} ${job.jid} (failure ${failures}, retry at ${at}): ${failure.errorClass}: ${failure.message}`,
                { queue, class: job.class, jid: job.jid, duration_ms: durationMillis },
              )
            }
            return "retried"
          }
        }
      })

      /**
       * The job's code, with the job's services and the worker's timeout; `span` is the job's span
       * when it has one (the worker's code runs inside it).
       */
      const perform = (
        job: Job.Job,
        resolved: Result.Result<RegisteredWorker, UnknownJobClass>,
        span: Tracer.Span | undefined,
      ): Effect.Effect<void, unknown> => {
        if (Result.isFailure(resolved)) return Effect.fail(resolved.failure)
        const worker = resolved.success
        const effect =
          worker.perform !== undefined
            ? worker.perform(job.args, CurrentJob.fromJob(job), client, span)
            : Effect.suspend(() =>
                worker
                  .run(job.args)
                  .pipe(
                    Effect.provideService(CurrentJob, CurrentJob.fromJob(job)),
                    Effect.provideService(Client, client),
                  ),
              )
        return worker.timeout === undefined ? effect : Effect.timeout(effect, worker.timeout)
      }

      // The steps below run for every job: hand-written Effect chains rather than generators (a
      // generator and its iterator per step cost several times the steps themselves), and as few
      // steps as the job needs: decode and start in one, perform, free and decide in one, the ack.

      /**
       * Runs the job, `common` when `process` decoded it already (see `Job.decodeCommon`), else
       * decoded here; a payload that is no job goes to the dead set.
       */
      const run = (lease: Lease, common: Job.Job | undefined, progress: Progress): Effect.Effect<Outcome, StoreError> =>
        Effect.withFiber((fiber) => {
          if (common !== undefined) return started(fiber, lease, common, progress)
          return Effect.flatMap(Effect.result(Job.decode(lease.raw)), (decoded) => {
            if (Result.isSuccess(decoded)) return started(fiber, lease, decoded.success, progress)
            lease.freeUnsafe()
            return Effect.map(rejectMalformed(lease.queue, decoded.failure), () => {
              progress.recorded = "dead"
              return "dead" as const
            })
          })
        })

      const started = (
        fiber: Fiber.Fiber<unknown, unknown>,
        lease: Lease,
        job: Job.Job,
        progress: Progress,
      ): Effect.Effect<Outcome, StoreError> => {
        progress.job = job
        // The job's span (when it has one) names the job rather than opening another one.
        progress.span?.attribute("queue", lease.queue)
        progress.span?.attribute("class", job.class)
        progress.span?.attribute("jid", job.jid)
        const resolving = registry.resolve(job.class)
        // The registry's answer is usually a success already: no step to read it.
        return Exit.isExit(resolving) && Exit.isSuccess(resolving)
          ? resolvedTo(fiber, lease, job, Result.succeed(resolving.value as RegisteredWorker), progress)
          : Effect.flatMap(Effect.result(resolving), (resolved) => resolvedTo(fiber, lease, job, resolved, progress))
      }

      const resolvedTo = (
        fiber: Fiber.Fiber<unknown, unknown>,
        lease: Lease,
        job: Job.Job,
        resolved: Result.Result<RegisteredWorker, UnknownJobClass>,
        progress: Progress,
      ): Effect.Effect<Outcome, StoreError> => {
        const { queue } = lease
        const worker = Result.isSuccess(resolved) ? resolved.success : undefined
        const enqueuedAt = job.enqueued_at
        stats.recordStartedUnsafe(
          queue,
          job.class,
          enqueuedAt === undefined ? undefined : Math.max(0, lease.startedMillis - enqueuedAt * 1000),
        )
        // The run's end is read from the job's clock once `perform` ends, without another step.
        const clock = fiber.getRef(Clock.Clock)
        const performed = Effect.matchCauseEffect(perform(job, resolved, progress.span), {
          onSuccess: () => ended(lease, job, worker, Exit.void, clock.currentTimeMillisUnsafe(), progress),
          onFailure: (cause) =>
            ended(lease, job, worker, Exit.failCause(cause), clock.currentTimeMillisUnsafe(), progress),
        })
        const announce = events.publishWith(() => new JobStarted({ queue, jid: job.jid, className: job.class }))
        const logged = logsAt(fiber, levels.start)
          ? logLine(levels.start, `start ${job.class} ${job.jid}`, { queue, class: job.class, jid: job.jid })
          : Effect.void
        return andThenUnlessVoid(announce, andThenUnlessVoid(logged, performed))
      }

      /** The job's code has ended: free its worker (the next fetch overlaps the outcome write), decide. */
      const ended = (
        lease: Lease,
        job: Job.Job,
        worker: RegisteredWorker | undefined,
        exit: Exit.Exit<void, unknown>,
        nowMillis: number,
        progress: Progress,
      ): Effect.Effect<Outcome, StoreError> => {
        lease.freeUnsafe()
        const retryNumber = Decide.policyQuestion(job, worker, exit, settings.maxRetries)
        if (retryNumber === undefined) return decided(lease, job, worker, exit, nowMillis, undefined, progress)
        return Effect.flatMap(
          RetryPolicy.nextRunAt(
            worker?.retryPolicy ?? RetryPolicy.sidekiqBackoff,
            DateTime.makeUnsafe(nowMillis),
            retryNumber,
          ),
          (retryAt) => decided(lease, job, worker, exit, nowMillis, retryAt, progress),
        )
      }

      /** Writes what `decide` says; should the write fail, `process`'s handler retries it until it lands. */
      const decided = (
        lease: Lease,
        job: Job.Job,
        worker: RegisteredWorker | undefined,
        exit: Exit.Exit<void, unknown>,
        nowMillis: number,
        retryAt: DateTime.Utc | undefined,
        progress: Progress,
      ): Effect.Effect<Outcome, StoreError> => {
        const decision = Decide.decide({
          job,
          worker,
          exit,
          nowMillis,
          maxRetries: settings.maxRetries,
          retryAt,
          describe: describeFailure,
        })
        switch (decision._tag) {
          case "Interrupted":
            return Interrupted
          case "Ack":
            // An ack is a batch's write (Acker.ts): a job interrupted while it waits leaves it running.
            progress.writing = finished(lease, job, nowMillis, progress)
            return progress.writing
          default:
            // A failure's write is several commands: each attempt runs whole.
            progress.writing = Effect.uninterruptible(writeFailure(lease, job, decision, nowMillis, progress))
            return progress.writing
        }
      }

      /** The outcome write failed (Redis may be away): try again, each attempt whole, until it lands. */
      const rewrite = (writing: Effect.Effect<Outcome, StoreError>, jid: string, error: StoreError) => {
        const warn = (error: StoreError) =>
          Effect.logWarning(`Could not record the outcome of ${jid} yet, retrying: ${error.message}`)
        return warn(error).pipe(
          Effect.andThen(Effect.sleep(FirstRetryDelay)),
          Effect.andThen(writing.pipe(Effect.tapError(warn), Effect.retry(OutcomeRetry))),
        )
      }

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

      /**
       * Whatever happens, an outcome: an outcome write that failed is tried again until it lands; a
       * failure nobody expected is salvaged (see `salvage`); an outcome that cannot be written, even
       * by salvaging, leaves the job in progress, and says so. Interruption (shutdown) writes
       * nothing. (One handler rather than several nested ones: this wraps every job.)
       */
      const processUntraced = (lease: Lease, common: Job.Job | undefined, progress: Progress): Effect.Effect<Outcome> =>
        Effect.catchCause(run(lease, common, progress), (cause) => {
          if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
          const error = Cause.hasDies(cause) ? undefined : Cause.findErrorOption(cause)
          if (error?._tag === "Some" && progress.writing !== undefined && progress.recorded === undefined) {
            return Effect.catchCause(rewrite(progress.writing, progress.job?.jid ?? "a job", error.value), unsalvaged)
          }
          if (Cause.hasFails(cause)) {
            return Effect.as(
              error?._tag === "Some"
                ? Effect.logError(`Could not record a job's outcome; it stays in progress: ${error.value.message}`)
                : Effect.logError("Could not record a job's outcome; it stays in progress", cause),
              "unrecorded" as const,
            )
          }
          return Effect.catchCause(salvage(lease.queue, lease.raw, progress, cause), unsalvaged)
        })

      /** Salvaging (or writing the outcome) failed for good: the job stays in progress, and this says so. */
      const unsalvaged = (cause: Cause.Cause<unknown>): Effect.Effect<Outcome> =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.failCause(cause as Cause.Cause<never>)
          : Effect.as(Effect.logError("Could not record a job's outcome; it stays in progress", cause), "unrecorded")

      /**
       * One span per job ("Processor.process", a child of the enqueuer's when the job names it, see
       * Trace.ts, else the root of a trace of its own, like a request), made only when someone can see it: a tracer other than Effect's native one (which
       * exports nothing) is installed, or the job carries a trace to continue. A span costs several
       * µs, a sizeable share of a job's CPU, so jobs nobody traces run without one.
       */
      const process = (lease: Lease): Effect.Effect<Outcome> =>
        Effect.withFiber((fiber) => {
          const progress: Progress = { job: undefined, writing: undefined, recorded: undefined, span: undefined }
          // Decoded first (total: anything unusual is left to `run`), so that the parent is read
          // from the job rather than searched for in the text.
          const common = Job.decodeCommon(lease.raw)
          const parent =
            common === undefined
              ? Trace.parentOf(lease.raw)
              : typeof common.traceparent === "string"
                ? Trace.parse(common.traceparent)
                : undefined
          if (
            parent === undefined &&
            (fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer || !fiber.getRef(References.TracerEnabled))
          )
            return processUntraced(lease, common, progress)
          const inSpan = (span: Tracer.Span) => {
            progress.span = span
            return Effect.withParentSpan(processUntraced(lease, common, progress), span)
          }
          return Effect.useSpan("Processor.process", parent === undefined ? { root: true } : { parent }, inSpan)
        })

      return { process }
    }),
  )
}
