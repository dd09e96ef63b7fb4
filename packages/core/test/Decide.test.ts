import { assert, describe, it } from "@effect/vitest"
import { Cause, DateTime, Effect, Exit, Fiber, Schema } from "effect"
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
    ...input,
  })

const failWith = (error: unknown) => Exit.fail(error)

describe("Decide.decide", () => {
  it("acks a success", () => {
    assert.deepStrictEqual(decide({}), { _tag: "Ack" })
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

  it("treats invalid args as a failure of the job", () => {
    const decision = decide({ exit: failWith(new Worker.InvalidJobArgs({ worker: "Charge", reason: "bad" })) })
    assert.strictEqual(decision._tag, "Retry")
    if (decision._tag === "Retry") {
      assert.strictEqual(decision.failure.errorClass, "InvalidJobArgs")
      assert.strictEqual(decision.failure.message, "Invalid args for Charge: bad")
    }
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
    assert.strictEqual(Decide.policyQuestion(job(), worker(), Exit.void, 25), undefined)
    assert.strictEqual(Decide.policyQuestion(job(), worker(), Exit.failCause(Cause.interrupt()), 25), undefined)
    assert.strictEqual(Decide.policyQuestion(job(), worker(), boom, 25), 1)
    assert.strictEqual(Decide.policyQuestion(job({ retry_count: 0 }), worker({ retry: 2 }), boom, 25), 2)
    assert.strictEqual(Decide.policyQuestion(job({ retry_count: 0 }), worker({ retry: 1 }), boom, 25), undefined)
    assert.strictEqual(Decide.policyQuestion(job({ retry: false }), worker(), boom, 25), undefined)
  })
})
