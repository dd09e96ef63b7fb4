import { assert, describe, it } from "@effect/vitest"
import { Cause, Data, DateTime, Effect, Exit, Fiber, Schema } from "effect"
import * as Decide from "../src/internal/Decide.ts"
import { describeFailure } from "../src/internal/Failure.ts"
import type * as Job from "../src/Job.ts"
import * as Worker from "../src/Worker.ts"

const job = (extra: Partial<Job.Job> = {}): Job.Job =>
  ({ class: "Charge", queue: "default", args: [1], jid: "0123456789abcdef01234567", ...extra }) as Job.Job

const worker = (options: Partial<Worker.WorkerOptions<unknown, never, never>> = {}) =>
  Worker.make({ name: "Charge", args: Schema.Array(Schema.Unknown), perform: () => Effect.void, ...options })

const now = 1_700_000_000_000
const later = DateTime.makeUnsafe(now + 60_000)

const decide = (input: Partial<Decide.Input>): Decide.Decision =>
  Decide.decide({
    job: job(),
    worker: worker(),
    exit: Exit.void,
    nowMillis: now,
    maxRetries: 25,
    retryAt: later,
    describe: describeFailure,
    notRetryable: undefined,
    ...input,
  })

const failWith = (error: unknown) => Exit.fail(error)

describe("Decide.decide", () => {
  it("acks a success", () => {
    assert.deepStrictEqual(decide({}), { _tag: "Ack" })
  })

  it("a cancelled job that did not succeed is Cancelled, never retried or dead; one that succeeded is acked", () => {
    assert.deepStrictEqual(decide({ cancelled: true, exit: Exit.failCause(Cause.interrupt()) }), { _tag: "Cancelled" })
    assert.deepStrictEqual(decide({ cancelled: true, exit: failWith(new Error("boom")) }), { _tag: "Cancelled" })
    assert.deepStrictEqual(decide({ cancelled: true, exit: failWith(new Error("boom")), notRetryable: "no" }), {
      _tag: "Cancelled",
    })
    assert.deepStrictEqual(decide({ cancelled: true }), { _tag: "Ack" })
    assert.deepStrictEqual(decide({ exit: Exit.failCause(Cause.interrupt()) }), { _tag: "Interrupted" })
  })

  it("retries a first failure at the policy's time, with the failure patched in", () => {
    const decision = decide({ exit: failWith(new Error("boom")) })
    assert.strictEqual(decision._tag, "Retry")
    if (decision._tag !== "Retry") return
    assert.strictEqual(decision.at, later)
    assert.strictEqual(decision.failures, 1)
    assert.strictEqual(decision.failure.message, "boom")
    assert.strictEqual(decision.changes.retry_count, 0)
    assert.strictEqual(decision.changes.error_message, "boom")
  })

  it("retries while the count is within the limit, and counts from retry_count", () => {
    const decision = decide({ job: job({ retry_count: 3 }), exit: failWith(new Error("again")), maxRetries: 5 })
    assert.strictEqual(decision._tag, "Retry")
    if (decision._tag === "Retry") {
      assert.strictEqual(decision.failures, 5)
      assert.strictEqual(decision.changes.retry_count, 4)
    }
  })

  it("kills a job whose retries are exhausted, saying so", () => {
    const decision = decide({ job: job({ retry_count: 4 }), exit: failWith(new Error("last")), maxRetries: 5 })
    assert.strictEqual(decision._tag, "Dead")
    if (decision._tag === "Dead") {
      assert.strictEqual(decision.failures, 6)
      assert.strictEqual(decision.reason, "retries exhausted after 6 failures: Error: last")
    }
  })

  it("kills a job when the retry policy has no retry left", () => {
    const decision = decide({ exit: failWith(new Error("no more")), retryAt: undefined })
    assert.strictEqual(decision._tag, "Dead")
    if (decision._tag === "Dead") assert.strictEqual(decision.reason, "Error: no more")
  })

  it("kills at once a job or worker that says retry: false, and honours a worker's count", () => {
    const boom = failWith(new Error("x"))
    assert.strictEqual(decide({ job: job({ retry: false }), exit: boom })._tag, "Dead")
    assert.strictEqual(decide({ worker: worker({ retry: false }), exit: boom })._tag, "Dead")
    assert.strictEqual(decide({ worker: worker({ retry: 1 }), exit: boom })._tag, "Retry")
    assert.strictEqual(decide({ job: job({ retry_count: 0 }), worker: worker({ retry: 1 }), exit: boom })._tag, "Dead")
    // The job's own setting wins over the worker's.
    assert.strictEqual(decide({ job: job({ retry: 3 }), worker: worker({ retry: false }), exit: boom })._tag, "Retry")
  })

  it("retries an unknown class with the node's limit, naming the error", () => {
    const decision = decide({ worker: undefined, exit: failWith(new Worker.UnknownJobClass({ className: "Nope" })) })
    assert.strictEqual(decision._tag, "Retry")
    if (decision._tag === "Retry") assert.strictEqual(decision.failure.errorClass, "UnknownJobClass")
    assert.strictEqual(
      decide({ worker: undefined, maxRetries: 0, exit: failWith(new Worker.UnknownJobClass({ className: "Nope" })) })
        ._tag,
      "Dead",
    )
  })

  it("kills at once a failure that is not retryable, saying why, with retries left and a retry time", () => {
    const exit = failWith(new Worker.InvalidJobArgs({ worker: "Charge", reason: "bad" }))
    const decision = decide({ exit, notRetryable: "its args do not match the worker's schema" })
    assert.strictEqual(decision._tag, "Dead")
    if (decision._tag !== "Dead") return
    assert.strictEqual(decision.failures, 1)
    assert.strictEqual(decision.failure.errorClass, "InvalidJobArgs")
    assert.strictEqual(decision.failure.message, "Invalid args for Charge: bad")
    assert.strictEqual(
      decision.reason,
      "not retryable (its args do not match the worker's schema): InvalidJobArgs: Invalid args for Charge: bad",
    )
    // Past the limit too, the reason is that it is not retryable.
    const last = decide({ job: job({ retry_count: 30 }), exit, notRetryable: "why" })
    assert.strictEqual(
      last._tag === "Dead" ? last.reason : last._tag,
      "not retryable (why): InvalidJobArgs: Invalid args for Charge: bad",
    )
  })

  it("a success or an interruption stays what it is, whatever notRetryable says", () => {
    assert.strictEqual(decide({ notRetryable: "why" })._tag, "Ack")
    assert.strictEqual(decide({ exit: Exit.failCause(Cause.interrupt()), notRetryable: "why" })._tag, "Interrupted")
  })

  it("writes nothing for an interrupted run, but a defect is a failure", () => {
    assert.deepStrictEqual(decide({ exit: Exit.failCause(Cause.interrupt(Fiber.getCurrent()?.id)) }), {
      _tag: "Interrupted",
    })
    assert.strictEqual(decide({ exit: Exit.die(new Error("bug")) })._tag, "Retry")
  })
})

describe("Decide.policyQuestion", () => {
  it("asks the policy about the next retry only for a failure within the limit", () => {
    const boom = failWith(new Error("x"))
    const ask = (j: Job.Job, w: Decide.Input["worker"], exit: Exit.Exit<unknown, unknown>) =>
      Decide.policyQuestion(j, w, exit, 25, undefined)
    assert.strictEqual(ask(job(), worker(), Exit.void), undefined)
    assert.strictEqual(ask(job(), worker(), Exit.failCause(Cause.interrupt())), undefined)
    assert.strictEqual(ask(job(), worker(), boom), 1)
    assert.strictEqual(ask(job({ retry_count: 0 }), worker({ retry: 2 }), boom), 2)
    assert.strictEqual(ask(job({ retry_count: 0 }), worker({ retry: 1 }), boom), undefined)
    assert.strictEqual(ask(job({ retry: false }), worker(), boom), undefined)
  })

  it("does not ask the policy about a failure that is not retryable", () => {
    const boom = failWith(new Error("x"))
    assert.strictEqual(Decide.policyQuestion(job(), worker(), boom, 25, undefined), 1)
    assert.strictEqual(Decide.policyQuestion(job(), worker(), boom, 25, "why"), undefined)
  })
})

class MailError extends Data.TaggedError("MailError")<{ readonly to: string; readonly reason: string }> {}

describe("Decide.notRetryable", () => {
  const mailWorker = (retryable?: (error: MailError) => boolean) =>
    Worker.make({
      name: "Charge",
      args: Schema.Array(Schema.Unknown),
      perform: (): Effect.Effect<void, MailError> => Effect.void,
      ...(retryable === undefined ? {} : { retryable }),
    })
  const bounced = new MailError({ to: "ada@example.com", reason: "bounced" })
  const full = new MailError({ to: "ada@example.com", reason: "mailbox full" })
  const refuseBounces = mailWorker((error) => error.reason !== "bounced")

  it("says nothing about a success, an interruption, or a failure nobody refuses", () => {
    assert.isUndefined(Decide.notRetryable(job(), worker(), Exit.void))
    assert.isUndefined(Decide.notRetryable(job(), refuseBounces, Exit.failCause(Cause.interrupt())))
    assert.isUndefined(Decide.notRetryable(job(), worker(), failWith(new Error("x"))))
    assert.isUndefined(Decide.notRetryable(job(), mailWorker(), failWith(bounced)), "no retryable: all are retried")
    assert.isUndefined(Decide.notRetryable(job(), refuseBounces, failWith(full)))
  })

  it("says why for a failure the worker's retryable refuses, in any reason of the cause", () => {
    assert.strictEqual(Decide.notRetryable(job(), refuseBounces, failWith(bounced)), "the worker's retryable said no")
    const both = Exit.failCause(Cause.combine(Cause.fail(full), Cause.fail(bounced)))
    assert.strictEqual(Decide.notRetryable(job(), refuseBounces, both), "the worker's retryable said no")
  })

  it("never asks retryable about a timeout or a defect, and a retryable that throws means retry", () => {
    const refuseAll = mailWorker(() => false)
    assert.strictEqual(Decide.notRetryable(job(), refuseAll, failWith(bounced)), "the worker's retryable said no")
    assert.isUndefined(Decide.notRetryable(job(), refuseAll, failWith(new Cause.TimeoutError("too slow"))))
    assert.isUndefined(Decide.notRetryable(job(), refuseAll, Exit.die(new Error("bug"))))
    const throwing = mailWorker(() => {
      throw new Error("retryable is broken")
    })
    assert.isUndefined(Decide.notRetryable(job(), throwing, failWith(bounced)))
  })

  it("refuses Unrecoverable, failed or thrown, whatever the worker says", () => {
    const unrecoverable = new Worker.Unrecoverable({ reason: "account closed" })
    assert.strictEqual(
      Decide.notRetryable(job(), worker(), failWith(unrecoverable)),
      "the job failed with Unrecoverable",
    )
    assert.strictEqual(
      Decide.notRetryable(job(), worker(), Exit.die(unrecoverable)),
      "the job failed with Unrecoverable",
    )
    assert.strictEqual(
      Decide.notRetryable(
        job(),
        mailWorker(() => true),
        failWith(unrecoverable),
      ),
      "the job failed with Unrecoverable",
    )
  })

  it("refuses the worker's own InvalidJobArgs, not another worker's, and retries an unknown class", () => {
    const own = new Worker.InvalidJobArgs({ worker: "Charge", reason: "bad" })
    const other = new Worker.InvalidJobArgs({ worker: "Refund", reason: "bad" })
    assert.strictEqual(Decide.notRetryable(job(), worker(), failWith(own)), "its args do not match the worker's schema")
    assert.isUndefined(Decide.notRetryable(job(), worker(), failWith(other)))
    const unknown = failWith(new Worker.UnknownJobClass({ className: "Charge" }))
    assert.isUndefined(Decide.notRetryable(job(), undefined, unknown))
  })
})
