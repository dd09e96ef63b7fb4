/**
 * One run of one leased job: a record (`JobRun`) that its steps fill in, top to bottom:
 *
 *   decode → (admit) → start → perform → decide → write → report
 *
 * `decode` reads the payload (a payload that is no job is buried at once); `admit` (Admission.ts),
 * only for jobs whose worker or queue has limits, asks them, and a job over one is snoozed (written
 * to `schedule` unchanged) instead of started; `start` finds the
 * worker and announces the run; `perform` runs the job's code into an Exit and frees the job's
 * slot; `decide` (Decide.ts, pure) says what that exit means; `write` asks the lease to write it
 * (ack, retry or bury, each out of in-progress in one atomic step); `report` counts, publishes and
 * logs once it has landed. Should anything throw, `recover` reads from the record how far the run
 * got: a write that failed is written again until it lands; anything else before a write buries
 * the job with what went wrong; after one, it is only logged.
 *
 * The steps are plain Effect chains, not generators: they run for every job, and a generator and
 * its iterator per step cost several times the steps themselves.
 */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as References from "effect/References"
import * as Result from "effect/Result"
import type * as Tracer from "effect/Tracer"
import { Client } from "../Client.ts"
import { CurrentJob } from "../CurrentJob.ts"
import { type Events, JobCancelled, JobFailed, JobFinished, JobSnoozed, JobStarted } from "../Events.ts"
import * as Job from "../Job.ts"
import * as RetryPolicy from "../RetryPolicy.ts"
import type { LogLevels } from "../Settings.ts"
import { OtherLabel, type Stats } from "../Stats.ts"
import type { JobStoreShape, ResultStoreShape, StoreError } from "../Store.ts"
import * as Threads from "../Threads.ts"
import * as Unique from "../Unique.ts"
import { type RegisteredWorker, UnknownJobClass, type WorkerRegistry } from "../Worker.ts"
import * as Admission from "./Admission.ts"
import { type Cancels, cancelledTotal } from "./Cancel.ts"
import { OutcomeRetry } from "./DeadLetter.ts"
import * as Decide from "./Decide.ts"
import { describeFailure, ProcessingFailedClass } from "./Failure.ts"
import type { Burial, Lease } from "./Lease.ts"
import type { ProgressBoard } from "./ProgressBoard.ts"
import * as ResultWrite from "./ResultWrite.ts"

/**
 * How a run ended: `retried` and `dead` are failures; `interrupted` (shutdown) leaves the job in
 * progress, to run again; `unrecorded` (even burying it failed, logged at error level) leaves it
 * there too; `cancelled` (see Cancel.ts) took it out of in-progress, and nothing else; `snoozed`
 * (over a limit, see Limits.ts) moved it to `schedule` unchanged, and it did not run.
 */
export type Outcome = "finished" | "retried" | "dead" | "interrupted" | "unrecorded" | "cancelled" | "snoozed"

/** What every run of a node shares, made once (see Processor.ts). */
export interface Services {
  readonly registry: WorkerRegistry["Service"]
  readonly client: Client["Service"]
  readonly events: Events["Service"]
  readonly stats: Stats["Service"]
  readonly cancels: Cancels["Service"]
  readonly maxRetries: number
  readonly logLevels: LogLevels
  /** Frees a unique job's lock (Unique.ts); absent where no store is at hand. */
  readonly releaseUnique?: JobStoreShape["releaseUnique"] | undefined
  /** Where workers with a `success` schema keep their jobs' results (ResultWrite.ts). */
  readonly results: ResultStoreShape
  /** Where jobs' progress reports go. */
  readonly progress: ProgressBoard["Service"]
  /** Who performs threaded workers' jobs (Threads.ts); absent when the node has no thread pool. */
  readonly threads?: Threads.ThreadRunner["Service"] | undefined
  /** Admission by limits (Admission.ts): absent when no worker and no queue of the node has any. */
  readonly limits?: Admission.Gate | undefined
}

/** The record of one run: what it has learned so far, filled in by its steps in order. */
export class JobRun {
  readonly lease: Lease
  /** The run's fiber: its clock and log level. */
  readonly fiber: Fiber.Fiber<unknown, unknown>
  readonly clock: Clock.Clock
  /** The job's span, when someone can see it (see Processor.ts). */
  readonly span: Tracer.Span | undefined
  job: Job.Job | undefined = undefined
  worker: RegisteredWorker | undefined = undefined
  exit: Exit.Exit<unknown, unknown> = Exit.void
  /** When `perform` ended (epoch milliseconds, from the run's `Clock`). */
  endedMillis = 0
  /** Why retrying cannot help the run's failure (`Decide.notRetryable`), read once it ended. */
  notRetryable: string | undefined = undefined
  decision: Decide.Decision | undefined = undefined
  /** The job was cancelled (see Cancel.ts) before its run ended; `started`: its code had begun. */
  cancelled: { readonly started: boolean } | undefined = undefined
  /** Set once the decision is written: from then on nothing is written again. */
  outcome: Outcome | undefined = undefined
  /** The concurrency slots the run holds (Admission.ts), freed once it has ended. */
  holds: ReadonlyArray<Admission.Held> = []
  constructor(lease: Lease, fiber: Fiber.Fiber<unknown, unknown>, clock: Clock.Clock, span: Tracer.Span | undefined) {
    this.lease = lease
    this.fiber = fiber
    this.clock = clock
    this.span = span
  }
}

/**
 * The run, start to end. Never fails: whatever happens ends in an outcome (see `recover`), except
 * interruption (shutdown), which writes nothing.
 */
export const execute = (services: Services, run: JobRun, decoded: Job.Job | undefined): Effect.Effect<Outcome> =>
  Effect.catchCause(
    thrownAsDefect(() => steps(services, run, decoded)),
    (cause) => recover(services, run, cause),
  )

/**
 * The effect `make` builds, or a defect with what it threw: building a step's effect runs code
 * (a registry, a worker's `perform` function) that may throw before any effect exists. A try,
 * not `Effect.suspend`: this runs for every job, and a step more per job costs more.
 */
const thrownAsDefect = <A, E>(make: () => Effect.Effect<A, E>): Effect.Effect<A, E> => {
  try {
    return make()
  } catch (thrown) {
    return Effect.die(thrown)
  }
}

/** `decoded` when the caller has decoded the payload already (see `Job.decodeCommon`). */
const steps = (services: Services, run: JobRun, decoded: Job.Job | undefined): Effect.Effect<Outcome, StoreError> => {
  if (decoded !== undefined) run.job = decoded
  else {
    const result = Job.decodeResult(run.lease.raw)
    if (Result.isFailure(result)) return malformed(services, run, result.failure)
    run.job = result.success
  }
  // Admitted before the run can be cancelled: a cancel interrupts only the job's own code.
  const gate = services.limits
  if (gate !== undefined && Admission.limited(gate, run.lease.queue, services.registry.lookup(run.job.class))) {
    return admitted(services, run, gate)
  }
  return started(services, run)
}

/** Asks the job's limits: over one, it is snoozed; admitted, it starts holding its slots. */
const admitted = (services: Services, run: JobRun, gate: Admission.Gate): Effect.Effect<Outcome, StoreError> => {
  const { lease } = run
  const job = run.job!
  return Effect.flatMap(
    Admission.admit(gate, lease.queue, lease.token, job, services.registry.lookup(job.class)),
    (verdict) => {
      if (verdict._tag === "Admitted") {
        run.holds = verdict.holds
        if (run.holds.length === 0) return started(services, run)
        // Slots are freed once the outcome is written (its rewrites by `recover` included), or
        // the run interrupted (shutdown requeues it): only runs holding some pay for this.
        return Effect.onExit(
          Effect.catchCause(started(services, run), (cause) => recover(services, run, cause)),
          () => Admission.release(gate, run.holds),
        )
      }
      run.worker = services.registry.lookup(job.class)
      lease.free()
      return Effect.flatMap(Admission.snoozeAt(run.clock.currentTimeMillisUnsafe(), verdict.waitMillis), (at) => {
        run.decision = { _tag: "Snooze", at, limit: verdict.limit }
        return writeAndReport(services, run)
      })
    },
  )
}

/** From its start to its outcome: the job's code, and what its end means. */
const started = (services: Services, run: JobRun): Effect.Effect<Outcome, StoreError> => {
  if (services.cancels.enterUnsafe(run.job!.jid, run.fiber)) return cancelledBeforeStart(services, run)
  // Uninterruptible but for the job's code: a cancel interrupts the fiber (Cancel.ts), and the
  // run must still write that outcome; a shutdown's interruption ends it as before.
  return Effect.uninterruptibleMask((restore) =>
    andThen(
      start(services, run),
      Effect.flatMap(Effect.exit(restore(perform(services, run))), (exit) => {
        services.cancels.leaveUnsafe(run.job!.jid, run.fiber)
        if (!services.cancels.isCancelledUnsafe(run.job!.jid)) return restore(ended(services, run, exit))
        run.cancelled = { started: true }
        return ended(services, run, exit)
      }),
    ),
  )
}

/** A cancelled job about to start (fetched with its cancel, or back from a dead node): dropped. */
const cancelledBeforeStart = (services: Services, run: JobRun): Effect.Effect<Outcome, StoreError> => {
  services.cancels.leaveUnsafe(run.job!.jid, run.fiber)
  run.worker = services.registry.lookup(run.job!.class)
  run.cancelled = { started: false }
  return ended(services, run, Exit.failCause(Cause.interrupt()))
}

/** A payload that is no job: straight to the dead set, saying why. */
const malformed = (services: Services, run: JobRun, error: Job.MalformedJob): Effect.Effect<Outcome> =>
  buryNow(services, run, { failure: { errorClass: "MalformedJob", message: error.reason }, reason: error.message })

/**
 * Straight to the dead set, with no decision (a payload that is no job, or a run nothing could
 * handle), counted as a failure once it is there.
 */
const buryNow = (services: Services, run: JobRun, burial: Burial): Effect.Effect<Outcome> => {
  const { lease } = run
  lease.free()
  return Effect.map(andThen(lease.bury(burial), unlocked(services, run, "success") ?? Effect.void), () => {
    run.outcome = "dead"
    services.stats.recordFailedUnsafe(lease.queue, classLabel(run), 0, run.clock.currentTimeMillisUnsafe())
    return run.outcome
  })
}

/**
 * The class a run is counted under in the metrics: its worker's name, or `other` for a class no
 * worker is registered for (a payload that is no job included), so that made-up class names cannot
 * grow the metric series without bound.
 */
const classLabel = (run: JobRun): string => run.worker?.name ?? OtherLabel

/** Finds the worker, counts the start; returns what announces it (nothing when nobody listens). */
const start = (services: Services, run: JobRun): Effect.Effect<void> | undefined => {
  const { lease, span } = run
  const job = run.job!
  run.worker = services.registry.lookup(job.class)
  span?.attribute("queue", lease.queue)
  span?.attribute("class", job.class)
  span?.attribute("jid", job.jid)
  const enqueuedAt = job.enqueued_at
  services.stats.recordStartedUnsafe(
    lease.queue,
    classLabel(run),
    enqueuedAt === undefined ? undefined : Math.max(0, lease.startedMillis - enqueuedAt * 1000),
  )
  return andThen(
    unlocked(services, run, "start"),
    services.events.hasSubscribers()
      ? services.events.publish(new JobStarted({ queue: lease.queue, jid: job.jid, className: job.class }))
      : undefined,
    logged(run, services.logLevels.start, () => `start ${job.class} ${job.jid}`),
  )
}

/**
 * The job's code, with the job's services and the worker's timeout. A worker's function that
 * throws instead of returning an effect fails the job like any other failure (it is retried).
 */
const perform = (services: Services, run: JobRun): Effect.Effect<unknown, unknown> => {
  const job = run.job!
  const worker = run.worker
  if (worker === undefined) return Effect.fail(new UnknownJobClass({ className: job.class }))
  const sink = services.progress.sink(run.lease, job)
  // A threaded worker's job runs in a worker thread (Threads.ts), which counts its timeout.
  if (worker.thread === true) return Threads.perform(services.threads, worker, run.lease.raw, sink)
  const current = CurrentJob.fromJob(job, sink)
  const effect = thrownAsDefect(() =>
    worker.perform !== undefined
      ? worker.perform(job.args, current, services.client, run.span)
      : worker
          .run(job.args)
          .pipe(Effect.provideService(CurrentJob, current), Effect.provideService(Client, services.client)),
  )
  return worker.timeout === undefined ? effect : Effect.timeout(effect, worker.timeout)
}

/** `perform` has ended: free the slot (the next fetch overlaps the write), decide, write, report. */
const ended = (
  services: Services,
  run: JobRun,
  exit: Exit.Exit<unknown, unknown>,
): Effect.Effect<Outcome, StoreError> => {
  run.exit = exit
  run.endedMillis = run.clock.currentTimeMillisUnsafe()
  run.lease.free()
  run.notRetryable = Decide.notRetryable(run.job!, run.worker, exit)
  const retryNumber = Decide.policyQuestion(run.job!, run.worker, exit, services.maxRetries, run.notRetryable)
  if (retryNumber === undefined) return decided(services, run, undefined)
  return Effect.flatMap(
    RetryPolicy.nextRunAt(
      run.worker?.retryPolicy ?? RetryPolicy.sidekiqBackoff,
      DateTime.makeUnsafe(run.endedMillis),
      retryNumber,
    ),
    (retryAt) => decided(services, run, retryAt),
  )
}

const decided = (
  services: Services,
  run: JobRun,
  retryAt: DateTime.Utc | undefined,
): Effect.Effect<Outcome, StoreError> => {
  run.decision = Decide.decide({
    job: run.job!,
    worker: run.worker,
    exit: run.exit,
    nowMillis: run.endedMillis,
    maxRetries: services.maxRetries,
    retryAt,
    describe: describeFailure,
    notRetryable: run.notRetryable,
    cancelled: run.cancelled !== undefined,
  })
  return writeAndReport(services, run)
}

/** Writes the decision, then reports it. A failed write is tried again whole (see `recover`). */
const writeAndReport = (services: Services, run: JobRun): Effect.Effect<Outcome, StoreError> => {
  const { lease } = run
  const decision = run.decision!
  // Only for workers with a `success` schema; before the outcome, so that a crash runs it again.
  const kept = ResultWrite.write(services.results, run.job!.jid, run.worker, run.exit, decision)
  switch (decision._tag) {
    case "Interrupted":
      return Effect.succeed("interrupted")
    case "Cancelled":
      return andThen(
        kept,
        Effect.flatMap(lease.ack, () => andThen(unlocked(services, run, "success"), reportedCancelled(services, run))),
      )
    case "Ack":
      // A batch's write (Acker.ts): a job interrupted while it waits leaves it to run.
      return andThen(
        kept,
        Effect.flatMap(lease.ack, () =>
          andThen(unlocked(services, run, "success"), reported(services, run, "finished")),
        ),
      )
    case "Retry": {
      const payload = Job.patch(lease.raw, decision.changes)
      // Cannot happen for a payload that decoded; if it does, `recover` still buries the job.
      if (Result.isFailure(payload)) return Effect.die(new Error(`cannot patch the job: ${payload.failure}`))
      const atSeconds = Job.toEpochSeconds(DateTime.toEpochMillis(decision.at))
      return Effect.flatMap(Effect.uninterruptible(lease.retry(payload.success, atSeconds)), () =>
        reported(services, run, "retried"),
      )
    }
    case "Snooze":
      return Effect.flatMap(
        Effect.uninterruptible(
          services.limits!.store.snooze(lease.queue, services.limits!.node, lease.token, lease.raw, decision.at),
        ),
        () => reportedSnoozed(services, run, decision),
      )
    case "Dead":
      return andThen(
        kept,
        Effect.flatMap(
          Effect.uninterruptible(
            lease.bury({
              failure: decision.failure,
              reason: decision.reason,
              job: run.job,
              logLevel: services.logLevels.fail,
              nowMillis: run.endedMillis,
            }),
          ),
          () => andThen(unlocked(services, run, "success"), reported(services, run, "dead")),
        ),
      )
  }
}

/**
 * Frees the run's unique lock when it ends at `moment` (Unique.ts): after the outcome that ends it
 * is written, a compare-and-delete. A release that fails is only logged: the lock lapses at its
 * ttl. `undefined` (nothing to do) for the jobs that hold none.
 */
const unlocked = (services: Services, run: JobRun, moment: Unique.Until): Effect.Effect<void> | undefined => {
  const lock = run.job === undefined ? undefined : Unique.lockOf(run.job)
  const release = services.releaseUnique
  if (lock === undefined || lock.until !== moment || release === undefined) return undefined
  const jid = run.job!.jid
  return Effect.catch(Effect.asVoid(release(run.lease.queue, lock.digest, jid)), (error) =>
    Effect.logWarning(`Could not free the unique lock of ${jid} (it lapses at its ttl): ${error.message}`),
  )
}

/** The outcome is written: count it, publish it and log it. */
const reported = (services: Services, run: JobRun, outcome: Outcome): Effect.Effect<Outcome> => {
  run.outcome = outcome
  const { lease, decision } = run
  const job = run.job!
  const { queue } = lease
  const durationMillis = run.endedMillis - lease.startedMillis
  const { events, stats, logLevels } = services
  if (outcome === "finished") {
    stats.recordProcessedUnsafe(queue, classLabel(run), durationMillis, run.endedMillis)
    return andThen(
      events.hasSubscribers()
        ? events.publish(new JobFinished({ queue, jid: job.jid, className: job.class, durationMillis }))
        : undefined,
      logged(run, logLevels.done, () => `done ${job.class} ${job.jid} in ${durationMillis} ms`),
      Effect.succeed(outcome),
    )
  }
  stats.recordFailedUnsafe(queue, classLabel(run), durationMillis, run.endedMillis)
  if (decision?._tag !== "Retry" && decision?._tag !== "Dead") return Effect.succeed(outcome)
  const retryAt = decision._tag === "Retry" ? Job.toEpochSeconds(DateTime.toEpochMillis(decision.at)) : undefined
  const { failure, failures } = decision
  return andThen(
    events.hasSubscribers() ? events.publish(failedEvent(queue, job, failure, failures, retryAt)) : undefined,
    // A death logs its own line (DeadLetter.ts).
    decision._tag === "Retry"
      ? logged(
          run,
          logLevels.fail,
          () =>
            `fail ${job.class} ${job.jid} (failure ${failures}, retry at ${decision.at}): ${failure.errorClass}: ${failure.message}`,
        )
      : undefined,
    Effect.succeed(outcome),
  )
}

/** The cancelled job is out of in-progress: count it, publish it and log it. */
const reportedCancelled = (services: Services, run: JobRun): Effect.Effect<Outcome> => {
  run.outcome = "cancelled"
  const { lease } = run
  const job = run.job!
  const started = run.cancelled?.started ?? false
  const durationMillis = started ? run.endedMillis - lease.startedMillis : 0
  const { events, logLevels } = services
  return andThen(
    Metric.update(Metric.withAttributes(cancelledTotal, { queue: lease.queue, class: classLabel(run) }), 1),
    events.hasSubscribers()
      ? events.publish(
          new JobCancelled({ queue: lease.queue, jid: job.jid, className: job.class, started, durationMillis }),
        )
      : undefined,
    logged(run, logLevels.done, () =>
      started ? `cancelled ${job.class} ${job.jid} after ${durationMillis} ms` : `cancelled ${job.class} ${job.jid}`,
    ),
    Effect.succeed(run.outcome),
  )
}

/** The snoozed job is in `schedule`: count it, publish it and log it. */
const reportedSnoozed = (services: Services, run: JobRun, decision: Decide.Snooze): Effect.Effect<Outcome> => {
  run.outcome = "snoozed"
  const { queue } = run.lease
  const job = run.job!
  const { events, logLevels } = services
  return andThen(
    Metric.update(Metric.withAttributes(snoozedTotal, { queue, class: classLabel(run), limit: decision.limit }), 1),
    events.hasSubscribers()
      ? events.publish(
          new JobSnoozed({ queue, jid: job.jid, className: job.class, limit: decision.limit, until: decision.at }),
        )
      : undefined,
    logged(
      run,
      logLevels.start,
      () => `snoozed ${job.class} ${job.jid} until ${decision.at} (limit ${decision.limit})`,
    ),
    Effect.succeed(run.outcome),
  )
}

/** Jobs snoozed by a limit (Limits.ts), by queue, class and budget. */
export const snoozedTotal = Metric.counter("verk_jobs_snoozed_total", {
  description: "Jobs over a rate or concurrency limit, snoozed to the schedule instead of run",
  incremental: true,
})

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

/** A log line of the job at `level`, built only when that level is on (this runs for every job). */
const logged = (run: JobRun, level: LogLevel.LogLevel, message: () => string): Effect.Effect<void> | undefined => {
  if (level === "None" || level === "All") return undefined
  if (LogLevel.isGreaterThan(run.fiber.getRef(References.MinimumLogLevel), level)) return undefined
  const job = run.job!
  const annotations: Record<string, unknown> = { queue: run.lease.queue, class: job.class, jid: job.jid }
  if (run.outcome !== undefined) annotations.duration_ms = run.endedMillis - run.lease.startedMillis
  return Effect.logWithLevel(level)(message()).pipe(Effect.annotateLogs(annotations))
}

/** The wait before an outcome write is tried again the first time (then `OutcomeRetry`'s). */
const FirstRetryDelay = "50 millis"

/**
 * Something failed: read from the record how far the run got. Interruption (shutdown) writes
 * nothing; a write that failed (the only typed failure) is written again until it lands; anything
 * else before the outcome was written buries the job with what went wrong; after, it is logged.
 */
const recover = (services: Services, run: JobRun, cause: Cause.Cause<StoreError>): Effect.Effect<Outcome> => {
  if (run.job !== undefined) services.cancels.leaveUnsafe(run.job.jid, run.fiber)
  if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
  if (run.outcome !== undefined) {
    return Effect.as(
      Effect.logError(`A job's outcome (${run.outcome}) is recorded, but then this failed`, cause),
      run.outcome,
    )
  }
  const error = Cause.hasDies(cause) ? undefined : Cause.findErrorOption(cause)
  const rewrite = error?._tag === "Some" && run.decision !== undefined
  return Effect.catchCause(rewrite ? writeAgain(services, run, error.value) : salvage(services, run, cause), (cause) =>
    Cause.hasInterruptsOnly(cause)
      ? Effect.failCause(cause as Cause.Cause<never>)
      : Effect.as(Effect.logError("Could not record a job's outcome; it stays in progress", cause), "unrecorded"),
  )
}

/** The write failed (Redis may be away): try again, each attempt whole, until it lands. */
const writeAgain = (services: Services, run: JobRun, error: StoreError): Effect.Effect<Outcome, StoreError> => {
  const warn = (error: StoreError) =>
    Effect.logWarning(`Could not record the outcome of ${run.job?.jid ?? "a job"} yet, retrying: ${error.message}`)
  return warn(error).pipe(
    Effect.andThen(Effect.sleep(FirstRetryDelay)),
    Effect.andThen(
      Effect.suspend(() => writeAndReport(services, run)).pipe(Effect.tapError(warn), Effect.retry(OutcomeRetry)),
    ),
  )
}

/** A failure nobody expected (a defect in Verk, a hostile payload's edge case): dead, saying what. */
const salvage = (services: Services, run: JobRun, cause: Cause.Cause<unknown>): Effect.Effect<Outcome> => {
  const failure = describeFailure(cause)
  const message = `Verk could not handle this job: ${failure.errorClass}: ${failure.message}`
  return buryNow(services, run, {
    failure: { ...failure, errorClass: ProcessingFailedClass, message },
    reason: message,
    job: run.job,
    logLevel: "Error",
  })
}

/** The effects in order, skipping those that are not there (most are not: this runs per job). */
function andThen<A, E>(
  ...effects: [...Array<Effect.Effect<unknown, E> | undefined>, Effect.Effect<A, E>]
): Effect.Effect<A, E>
function andThen<E>(...effects: Array<Effect.Effect<unknown, E> | undefined>): Effect.Effect<void, E> | undefined
function andThen<E>(...effects: Array<Effect.Effect<unknown, E> | undefined>): Effect.Effect<unknown, E> | undefined {
  let chain: Effect.Effect<unknown, E> | undefined
  for (const effect of effects) {
    if (effect === undefined) continue
    chain = chain === undefined ? effect : Effect.andThen(chain, effect)
  }
  return chain
}
