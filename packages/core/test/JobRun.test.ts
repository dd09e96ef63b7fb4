/**
 * One run of one job (JobRun.ts, through the Processor), on the in-memory store under TestClock:
 * every outcome, and every way writing it can go wrong. Each job is taken by a real fetch into
 * node n1's in-progress list and run under a hand-made lease whose writes are the queue's own
 * (Lease.writer over the Probe's store), so that a test counts, refuses or holds them.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Data, type Duration, Effect, Exit, Fiber, Schedule, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as Acker from "../src/internal/Acker.ts"
import { DeadLetter } from "../src/internal/DeadLetter.ts"
import { ProcessingFailedClass } from "../src/internal/Failure.ts"
import * as Lease from "../src/internal/Lease.ts"
import { Processor } from "../src/internal/Processor.ts"
import * as Job from "../src/Job.ts"
import * as Worker from "../src/Worker.ts"
import {
  counted,
  eventsTagged,
  inProgressCount,
  layer,
  node,
  Probe,
  provideAtT0,
  queue,
  Recorder,
  rawJob,
  recordLogs,
  setEntries,
  settle,
  T0Seconds,
} from "./jobPath.ts"

class Boom extends Data.TaggedError("Boom")<{ readonly message: string }> {}

const NoArgs = Schema.Tuple([])

const Ok = Worker.make({ name: "Ok", args: NoArgs, perform: () => Effect.void })
const Slow = Worker.make({ name: "Slow", args: NoArgs, perform: () => Effect.sleep("3 seconds") })
const Fails = Worker.make({
  name: "Fails",
  args: NoArgs,
  retryPolicy: Schedule.spaced("30 seconds"),
  perform: () => Effect.fail(new Boom({ message: "it broke" })),
})
const FailsTwiceAllowed = Worker.make({
  name: "FailsTwiceAllowed",
  args: NoArgs,
  retry: 1,
  perform: () => Effect.fail(new Boom({ message: "again" })),
})
const TimesOut = Worker.make({ name: "TimesOut", args: NoArgs, timeout: "5 seconds", perform: () => Effect.never })
const Hangs = Worker.make({ name: "Hangs", args: NoArgs, perform: () => Effect.never })

const workers = [Ok, Slow, Fails, FailsTwiceAllowed, TimesOut, Hangs]
const Env = layer({ workers })

/**
 * Takes `raw` from the queue with a real fetch and leases it with the queue's own writes (acks
 * batched by an Acker, retries and burials through DeadLetter), over the Probe's store.
 */
const leaseOf = Effect.fnUntraced(function* (raw: string) {
  const probe = yield* Probe
  const deadLetter = yield* DeadLetter
  yield* probe.memory.enqueue(queue, [raw])
  const [taken] = (yield* probe.memory.fetch(queue, node, 1)).jobs
  assert.strictEqual(taken?.raw, raw)
  const writer = Lease.writer({
    queue,
    node,
    store: probe.store,
    deadLetter,
    ack: yield* Acker.make(probe.store, node),
  })
  const freed = { count: 0 }
  const lease: Lease.Lease = {
    queue,
    token: taken!.token,
    raw,
    isolated: false,
    startedMillis: yield* Clock.currentTimeMillis,
    free: () => {
      freed.count++
    },
    get ack() {
      return writer.ack(lease)
    },
    retry: (payload, atSeconds) => writer.retry(lease, payload, atSeconds),
    bury: (burial) => writer.bury(lease, burial),
  }
  return { lease, freed }
})

/** Runs `raw` to its outcome. */
const runJob = Effect.fnUntraced(function* (raw: string) {
  const { lease, freed } = yield* leaseOf(raw)
  const outcome = yield* (yield* Processor).process(lease)
  return { outcome, freed: freed.count }
})

/** Forks the run of `raw` (for runs that wait on the clock or on refused writes). */
const forkJob = Effect.fnUntraced(function* (raw: string) {
  const { lease, freed } = yield* leaseOf(raw)
  const fiber = yield* Effect.forkChild((yield* Processor).process(lease))
  yield* settle
  return { fiber, freed }
})

/** The outcome of a run that must have ended by now (a run still going fails the test, not hangs it). */
const outcomeOf = <A>(fiber: Fiber.Fiber<A>): A => {
  const exit = fiber.pollUnsafe()
  assert.isDefined(exit, "the run has ended")
  assert.isTrue(Exit.isSuccess(exit!), "the run succeeded")
  return (exit as Exit.Success<A>).value
}

/** Moves the clock `steps` times by `step`, letting woken fibers (and the acks' turns) run each time. */
const advance = (step: Duration.Input, steps: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < steps; i++) {
      yield* TestClock.adjust(step)
      yield* settle
    }
  })

describe("JobRun: outcomes", () => {
  it.effect("a success is acked: the job leaves in-progress, JobFinished is published, processed is counted", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      const { fiber, freed } = yield* forkJob(rawJob("Slow", "j-ok"))
      assert.strictEqual(yield* inProgressCount, 1, "in progress while it performs")
      assert.strictEqual(freed.count, 0, "its slot is held while it performs")
      yield* advance("3 seconds", 1)
      assert.strictEqual(outcomeOf(fiber), "finished")
      assert.strictEqual(freed.count, 1)
      assert.strictEqual(yield* inProgressCount, 0)
      assert.strictEqual(probe.calls("ack"), 1)
      assert.deepStrictEqual<unknown>(
        (yield* eventsTagged("JobStarted", "JobFinished", "JobFailed", "JobDead")).map((event) => ({ ...event })),
        [
          { _tag: "JobStarted", queue, jid: "j-ok", className: "Slow" },
          { _tag: "JobFinished", queue, jid: "j-ok", className: "Slow", durationMillis: 3_000 },
        ],
      )
      assert.deepStrictEqual(yield* counted, { processed: 1, failed: 0 })
      assert.deepStrictEqual(yield* setEntries("retry"), [])
      assert.deepStrictEqual(yield* setEntries("dead"), [])
    }).pipe(provideAtT0(Env)),
  )

  it.effect("a failure with retries left goes to retry with Sidekiq's fields, at the time its policy says", () =>
    Effect.gen(function* () {
      const raw = rawJob("Fails", "j-fail", { custom: { kept: true } })
      const { outcome, freed } = yield* runJob(raw)
      assert.strictEqual(outcome, "retried")
      assert.strictEqual(freed, 1)
      assert.strictEqual(yield* inProgressCount, 0)
      const [entry, ...more] = yield* setEntries("retry")
      assert.deepStrictEqual(more, [])
      assert.strictEqual(entry?.score, T0Seconds + 30, "the policy's 30 seconds after the failure")
      assert.deepInclude(entry?.job, {
        class: "Fails",
        queue,
        jid: "j-fail",
        args: [],
        enqueued_at: 1_700_000_000,
        custom: { kept: true },
        retry_count: 0,
        error_class: "Boom",
        error_message: "it broke",
        failed_at: T0Seconds,
      })
      assert.isArray(entry?.job.error_backtrace)
      const [failed] = yield* eventsTagged("JobFailed")
      assert.deepInclude(failed, {
        jid: "j-fail",
        className: "Fails",
        error: "Boom: it broke",
        failures: 1,
        retryAt: T0Seconds + 30,
        errorClass: "Boom",
      })
      assert.strictEqual(failed?.job.jid, "j-fail")
      assert.deepStrictEqual(yield* eventsTagged("JobFinished", "JobDead"), [])
      assert.deepStrictEqual(yield* counted, { processed: 1, failed: 1 })
    }).pipe(provideAtT0(Env)),
  )

  it.effect("a later failure counts one more retry and stamps retried_at, keeping failed_at", () =>
    Effect.gen(function* () {
      const raw = rawJob("Fails", "j-again", { retry_count: 2, failed_at: 1_600_000_000 })
      assert.strictEqual((yield* runJob(raw)).outcome, "retried")
      const [entry] = yield* setEntries("retry")
      assert.deepInclude(entry?.job, { retry_count: 3, failed_at: 1_600_000_000, retried_at: T0Seconds })
      // Schedule.spaced: retry number 4 waits 30 seconds like the first.
      assert.strictEqual(entry?.score, T0Seconds + 30)
    }).pipe(provideAtT0(Env)),
  )

  it.effect("a failure past the retry limit goes to dead, saying so", () =>
    Effect.gen(function* () {
      // Failed once before; the worker allows one retry: this second failure is the last.
      const raw = rawJob("FailsTwiceAllowed", "j-dead", { retry_count: 0, failed_at: 1_600_000_000 })
      const { outcome, freed } = yield* runJob(raw)
      assert.strictEqual(outcome, "dead")
      assert.strictEqual(freed, 1)
      assert.strictEqual(yield* inProgressCount, 0)
      assert.deepStrictEqual(yield* setEntries("retry"), [])
      const [entry, ...more] = yield* setEntries("dead")
      assert.deepStrictEqual(more, [])
      assert.strictEqual(entry?.score, T0Seconds)
      assert.deepInclude(entry?.job, {
        jid: "j-dead",
        retry_count: 1,
        error_class: "Boom",
        error_message: "again",
        failed_at: 1_600_000_000,
        retried_at: T0Seconds,
      })
      const [dead] = yield* eventsTagged("JobDead")
      assert.strictEqual(dead?.jid, "j-dead")
      assert.strictEqual(dead?.reason, "retries exhausted after 2 failures: Boom: again")
      const [failed] = yield* eventsTagged("JobFailed")
      assert.deepInclude(failed, { jid: "j-dead", failures: 2, retryAt: undefined })
      assert.deepStrictEqual(yield* counted, { processed: 1, failed: 1 })
    }).pipe(provideAtT0(Env)),
  )

  it.effect("an unknown class is retried with UnknownJobClass, on Sidekiq's default backoff", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* runJob(rawJob("Kernel.exec", "j-unknown"))).outcome, "retried")
      const [entry] = yield* setEntries("retry")
      assert.deepInclude(entry?.job, {
        jid: "j-unknown",
        retry_count: 0,
        error_class: "UnknownJobClass",
        error_message: 'No worker is registered for job class "Kernel.exec"',
      })
      // Sidekiq's first retry: 0^4 + 15 + rand(10) * 1 seconds.
      assert.isAtLeast(entry!.score, T0Seconds + 15)
      assert.isAtMost(entry!.score, T0Seconds + 24)
      assert.strictEqual(yield* inProgressCount, 0)
    }).pipe(provideAtT0(Env)),
  )

  it.effect("a payload that is no job goes to dead at once, wrapped, with MalformedJob", () =>
    Effect.gen(function* () {
      const raw = '{"class":"Ok","queue":"default","jid":"j-bad","args":'
      const { outcome, freed } = yield* runJob(raw)
      assert.strictEqual(outcome, "dead")
      assert.strictEqual(freed, 1)
      assert.strictEqual(yield* inProgressCount, 0)
      const [entry] = yield* setEntries("dead")
      assert.deepInclude(entry?.job, {
        class: Job.MalformedClass,
        queue,
        error_class: "MalformedJob",
        failed_at: T0Seconds,
        payload: raw,
      })
      const [dead] = yield* eventsTagged("JobDead")
      assert.strictEqual(dead?.errorClass, "MalformedJob")
      assert.deepStrictEqual(yield* eventsTagged("JobStarted", "JobFinished", "JobFailed"), [])
      assert.deepStrictEqual(yield* counted, { processed: 1, failed: 1 })
    }).pipe(provideAtT0(Env)),
  )

  it.effect("a job past its worker's timeout is interrupted and fails like any failure", () =>
    Effect.gen(function* () {
      const { fiber, freed } = yield* forkJob(rawJob("TimesOut", "j-slow"))
      yield* advance("4999 millis", 1)
      assert.strictEqual(freed.count, 0, "still performing just before its timeout")
      assert.strictEqual(yield* inProgressCount, 1)
      yield* advance("1 millis", 1)
      assert.strictEqual(outcomeOf(fiber), "retried")
      assert.strictEqual(freed.count, 1)
      const [entry] = yield* setEntries("retry")
      assert.deepInclude(entry?.job, { jid: "j-slow", error_class: "TimeoutError", failed_at: T0Seconds + 5 })
    }).pipe(provideAtT0(Env)),
  )

  it.effect("an interrupted run (shutdown) writes nothing: the job stays in progress, uncounted", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      const { fiber } = yield* forkJob(rawJob("Hangs", "j-hang"))
      assert.deepStrictEqual(
        (yield* eventsTagged("JobStarted")).map((event) => event.jid),
        ["j-hang"],
      )
      yield* Fiber.interrupt(fiber)
      // The fiber has ended: whatever the run writes, it has written.
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit) && exit.cause.reasons.every((reason) => reason._tag === "Interrupt"))
      assert.strictEqual(yield* inProgressCount, 1)
      assert.deepStrictEqual(
        ["ack", "retry", "kill"].map((op) => probe.calls(op as "ack")),
        [0, 0, 0],
      )
      assert.deepStrictEqual(yield* eventsTagged("JobFinished", "JobFailed", "JobDead"), [])
      assert.deepStrictEqual(yield* counted, { processed: 0, failed: 0 })
    }).pipe(provideAtT0(Env)),
  )
})

describe("JobRun: outcome writes that fail", () => {
  it.effect("a refused ack is written again until it lands; the job is counted and announced once", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      probe.refuse("ack", 3)
      const { fiber } = yield* forkJob(rawJob("Ok", "j-ack"))
      assert.strictEqual(probe.calls("ack"), 1)
      assert.strictEqual(yield* inProgressCount, 1, "in progress until an ack lands")
      // Retried after 50 ms, then on OutcomeRetry's schedule (50 ms, 100 ms, ...).
      yield* advance("50 millis", 3)
      assert.strictEqual(fiber.pollUnsafe(), undefined)
      assert.strictEqual(probe.calls("ack"), 3)
      yield* advance("50 millis", 1)
      assert.strictEqual(outcomeOf(fiber), "finished")
      assert.strictEqual(probe.calls("ack"), 4)
      assert.strictEqual(yield* inProgressCount, 0)
      assert.strictEqual((yield* eventsTagged("JobFinished")).length, 1)
      assert.deepStrictEqual(yield* counted, { processed: 1, failed: 0 })
    }).pipe(provideAtT0(Env)),
  )

  it.effect("a refused retry write lands later, once, and is counted once", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      probe.refuse("retry", 2)
      const { fiber } = yield* forkJob(rawJob("Fails", "j-retry"))
      assert.strictEqual(probe.calls("retry"), 1)
      assert.strictEqual(yield* inProgressCount, 1)
      assert.deepStrictEqual(yield* setEntries("retry"), [])
      yield* advance("50 millis", 2)
      assert.strictEqual(outcomeOf(fiber), "retried")
      assert.strictEqual(probe.calls("retry"), 3)
      assert.strictEqual(yield* inProgressCount, 0)
      const entries = yield* setEntries("retry")
      assert.deepStrictEqual(
        entries.map(({ job, score }) => [job.jid, job.retry_count, score]),
        // The retry time is the failure's, not the time the write landed.
        [["j-retry", 0, T0Seconds + 30]],
      )
      assert.strictEqual((yield* eventsTagged("JobFailed")).length, 1)
      assert.deepStrictEqual(yield* counted, { processed: 1, failed: 1 })
    }).pipe(provideAtT0(Env)),
  )

  it.effect("a refused dead-letter write lands later, once", () =>
    Effect.gen(function* () {
      const probe = yield* Probe
      probe.refuse("kill", 2)
      const { fiber } = yield* forkJob(rawJob("FailsTwiceAllowed", "j-kill", { retry_count: 5 }))
      assert.strictEqual(probe.calls("kill"), 1)
      assert.strictEqual(yield* inProgressCount, 1)
      assert.deepStrictEqual(yield* setEntries("dead"), [])
      // Retried on OutcomeRetry's schedule: 50 ms, then 100 ms.
      yield* advance("50 millis", 2)
      assert.strictEqual(fiber.pollUnsafe(), undefined)
      assert.strictEqual(probe.calls("kill"), 2)
      yield* advance("50 millis", 1)
      assert.strictEqual(outcomeOf(fiber), "dead")
      assert.strictEqual(probe.calls("kill"), 3)
      assert.strictEqual(yield* inProgressCount, 0)
      assert.deepStrictEqual(
        (yield* setEntries("dead")).map(({ job, score }) => [job.jid, job.error_class, score]),
        [["j-kill", "Boom", T0Seconds]],
      )
      assert.strictEqual((yield* eventsTagged("JobDead")).length, 1)
      assert.deepStrictEqual(yield* counted, { processed: 1, failed: 1 })
    }).pipe(provideAtT0(Env)),
  )
})

describe("JobRun: defects while handling a job", () => {
  it.effect("a defect outside perform (announcing the start dies) buries the job as Verk::ProcessingFailed", () =>
    Effect.gen(function* () {
      const recorder = yield* Recorder
      recorder.dieOn = (event) => event._tag === "JobStarted"
      const { outcome, freed } = yield* runJob(rawJob("Ok", "j-defect"))
      assert.strictEqual(outcome, "dead")
      assert.strictEqual(freed, 1)
      assert.strictEqual(yield* inProgressCount, 0)
      const [entry] = yield* setEntries("dead")
      assert.deepInclude(entry?.job, { jid: "j-defect", error_class: ProcessingFailedClass })
      assert.include(String(entry?.job.error_message), "publishing JobStarted died (test)")
      assert.deepStrictEqual(yield* counted, { processed: 1, failed: 1 })
    }).pipe(provideAtT0(Env)),
  )

  it.effect("a failure after the outcome is written is only logged: nothing is written again", () => {
    const logs: Array<{ readonly level: string; readonly message: string }> = []
    return Effect.gen(function* () {
      const probe = yield* Probe
      const recorder = yield* Recorder
      recorder.dieOn = (event) => event._tag === "JobFinished"
      const { outcome } = yield* runJob(rawJob("Ok", "j-after"))
      assert.strictEqual(outcome, "finished")
      assert.strictEqual(probe.calls("ack"), 1)
      assert.strictEqual(probe.calls("kill"), 0)
      assert.strictEqual(probe.calls("retry"), 0)
      assert.strictEqual(yield* inProgressCount, 0)
      assert.deepStrictEqual(yield* setEntries("dead"), [])
      assert.deepStrictEqual(yield* counted, { processed: 1, failed: 0 })
      assert.deepStrictEqual(
        logs.filter(({ level }) => level === "Error").map(({ message }) => message.split("\n")[0]),
        ["A job's outcome (finished) is recorded, but then this failed"],
      )
    }).pipe(provideAtT0(Env), recordLogs(logs))
  })
})
