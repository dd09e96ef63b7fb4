/**
 * Acceptance: failed jobs are retried with Sidekiq's bookkeeping in the retry set, exhausted ones
 * go to dead, and a worker's own retry policy (Verk's `retryAt` or a `Schedule`) is honoured.
 *
 * Every retry chain runs under TestClock: time only moves by `TestClock.adjust`. With Redis the
 * test waits for events (real I/O happens between steps), never sleeps through a retry delay.
 */
import { assert, it } from "@effect/vitest"
import { Clock, Data, DateTime, Effect, Schedule, Schema } from "effect"
import { TestClock } from "effect/testing"
import { CurrentJob } from "../../packages/core/src/CurrentJob.ts"
import type { JobDead, JobFailed } from "../../packages/core/src/Events.ts"
import type * as Settings from "../../packages/core/src/Settings.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { forEachStore, forJid, quietLogs, type StoreKind, setEntries, startNode, T0 } from "./support.ts"

class Boom extends Data.TaggedError("Boom")<{ readonly attempt: number }> {
  override get message() {
    return `attempt ${this.attempt} failed`
  }
}

const Poll = "1 second"
/** Every step happens within milliseconds once the clock has moved: no waiting for poll intervals. */
const Wait = { timeout: "2 seconds" } as const
const config: Settings.Input = { queues: { default: 5 }, pollInterval: Poll, shutdownTimeout: "1 second" }

const retries = (kind: StoreKind) => {
  it.effect("a job failing twice then succeeding runs 3 times, with Sidekiq's fields and backoff", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const store = yield* kind.open
      let attempts = 0
      const seenRetryCounts: Array<number | undefined> = []
      const Flaky = Worker.make({
        name: "Flaky",
        args: Schema.Tuple([Schema.String]),
        perform: () =>
          Effect.gen(function* () {
            seenRetryCounts.push((yield* CurrentJob).retryCount)
            attempts++
            if (attempts <= 2) return yield* new Boom({ attempt: attempts })
          }),
      })
      const node = yield* startNode(store, config, [Flaky])
      const job = yield* node.client.enqueue(Flaky, ["x"])

      // First failure: retry_count 0, error fields, failed_at; delay 15..24 s (Sidekiq, count 0).
      const [failed1] = yield* node.events.await<JobFailed>(forJid("JobFailed", job.jid), 1, Wait)
      const firstEntries = yield* setEntries(store, "retry")
      assert.strictEqual(firstEntries.length, 1)
      const first = firstEntries[0]!
      assert.strictEqual(first.job.jid, job.jid)
      assert.strictEqual(first.job.retry_count, 0)
      assert.strictEqual(first.job.error_class, "Boom")
      assert.strictEqual(first.job.error_message, "attempt 1 failed")
      assert.isNumber(first.job.failed_at)
      assert.isAtLeast(first.job.failed_at!, T0 / 1000)
      assert.isAtMost(first.job.failed_at!, (yield* Clock.currentTimeMillis) / 1000)
      assert.isUndefined(first.job.retried_at)
      const firstDelay = first.score - first.job.failed_at!
      assert.isAtLeast(firstDelay, 15, "Sidekiq's first retry delay is at least 15 s")
      assert.isAtMost(firstDelay, 24, "Sidekiq's first retry delay is at most 24 s")
      assert.strictEqual(failed1?.failures, 1)
      assert.strictEqual(failed1?.retryAt, first.score)
      assert.strictEqual(attempts, 1)

      // Second failure: retry_count 1, retried_at, failed_at kept; delay 16..34 s (count 1).
      yield* store.settle
      yield* TestClock.adjust("25 seconds")
      const [, failed2] = yield* node.events.await<JobFailed>(forJid("JobFailed", job.jid), 2, Wait)
      const secondEntries = yield* setEntries(store, "retry")
      assert.strictEqual(secondEntries.length, 1)
      const second = secondEntries[0]!
      assert.strictEqual(second.job.retry_count, 1)
      assert.strictEqual(second.job.error_class, "Boom")
      assert.strictEqual(second.job.error_message, "attempt 2 failed")
      assert.strictEqual(second.job.failed_at, first.job.failed_at, "failed_at is the first failure's")
      assert.isNumber(second.job.retried_at)
      assert.isAtLeast(second.job.retried_at! - first.job.failed_at!, 15)
      const secondDelay = second.score - second.job.retried_at!
      assert.isAtLeast(secondDelay, 16)
      assert.isAtMost(secondDelay, 34)
      assert.strictEqual(failed2?.failures, 2)
      assert.strictEqual(attempts, 2)

      // Third run succeeds: nothing left anywhere.
      yield* store.settle
      yield* TestClock.adjust("35 seconds")
      yield* node.events.await(forJid("JobFinished", job.jid), 1, Wait)
      assert.strictEqual(attempts, 3)
      assert.deepStrictEqual(seenRetryCounts, [undefined, 0, 1], "CurrentJob.retryCount per run")
      assert.deepStrictEqual(yield* setEntries(store, "retry"), [])
      assert.deepStrictEqual(yield* setEntries(store, "dead"), [])
      assert.strictEqual(yield* store.store.queueSize("default"), 0)
      assert.deepStrictEqual(yield* store.store.inProgress("default", node.verk.nodeId), [])
      assert.strictEqual(node.events.count(forJid("JobStarted", job.jid)), 3)
    }).pipe(quietLogs),
  )

  it.effect("a job that always fails, with retry: 2, runs 3 times then goes to dead (retryAt policy +7 s)", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const store = yield* kind.open
      let attempts = 0
      const counts: Array<number> = []
      const Doomed = Worker.make({
        name: "Doomed",
        args: Schema.Tuple([]),
        retry: 2,
        retryPolicy: {
          retryAt: (failedAt, count) => {
            counts.push(count)
            return DateTime.addDuration(failedAt, "7 seconds")
          },
        },
        perform: () => Effect.suspend(() => Effect.fail(new Boom({ attempt: ++attempts }))),
      })
      const node = yield* startNode(store, config, [Doomed])
      const job = yield* node.client.enqueue(Doomed, [])

      yield* node.events.await(forJid("JobFailed", job.jid), 1, Wait)
      const [first] = yield* setEntries(store, "retry")
      assert.isDefined(first)
      assert.closeTo(first!.score - first!.job.failed_at!, 7, 1e-6, "retryAt(failedAt, 1) = failedAt + 7 s")

      yield* store.settle
      yield* TestClock.adjust("7 seconds")
      yield* node.events.await(forJid("JobFailed", job.jid), 2, Wait)
      const [second] = yield* setEntries(store, "retry")
      assert.isDefined(second)
      assert.strictEqual(second!.job.retry_count, 1)
      assert.closeTo(second!.score - second!.job.retried_at!, 7, 1e-6)

      yield* store.settle
      yield* TestClock.adjust("7 seconds")
      const [dead] = yield* node.events.await<JobDead>(forJid("JobDead", job.jid), 1, Wait)
      assert.strictEqual(attempts, 3, "1 run + 2 retries")
      assert.deepStrictEqual(counts, [1, 2], "retryAt gets Verk's 1-based count, and is not asked past the limit")
      assert.strictEqual(dead?.className, "Doomed")
      assert.match(dead?.reason ?? "", /Boom/)
      const deadEntries = yield* setEntries(store, "dead")
      assert.strictEqual(deadEntries.length, 1)
      assert.strictEqual(deadEntries[0]!.job.jid, job.jid)
      assert.strictEqual(deadEntries[0]!.job.retry_count, 2)
      assert.strictEqual(deadEntries[0]!.job.error_message, "attempt 3 failed")
      assert.deepStrictEqual(yield* setEntries(store, "retry"), [])
      assert.deepStrictEqual(yield* store.store.inProgress("default", node.verk.nodeId), [])
      const lastFailed = node.events.all().filter(forJid("JobFailed", job.jid)).at(-1)
      assert.strictEqual(lastFailed?.failures, 3)
      assert.isUndefined(lastFailed?.retryAt, "the last failure has no retry time")

      // Nothing runs it again.
      yield* store.settle
      yield* TestClock.adjust("1 minute")
      yield* store.settle
      assert.strictEqual(attempts, 3)
    }).pipe(quietLogs),
  )

  it.effect("a Schedule retry policy (spaced 3 s) sets the retry time, and one adjust to it runs the job", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const store = yield* kind.open
      let attempts = 0
      const Spaced = Worker.make({
        name: "Spaced",
        args: Schema.Tuple([]),
        retryPolicy: Schedule.spaced("3 seconds"),
        perform: () => Effect.suspend(() => (++attempts === 1 ? Effect.fail(new Boom({ attempt: 1 })) : Effect.void)),
      })
      const node = yield* startNode(store, config, [Spaced])
      const job = yield* node.client.enqueue(Spaced, [])

      yield* node.events.await(forJid("JobFailed", job.jid), 1, Wait)
      const [entry] = yield* setEntries(store, "retry")
      assert.isDefined(entry)
      assert.closeTo(entry!.score - entry!.job.failed_at!, 3, 1e-6)

      // One adjust to the retry time is enough, on either store.
      yield* store.settle
      yield* TestClock.adjust("3 seconds")
      yield* node.events.await(forJid("JobFinished", job.jid), 1, Wait)
      assert.strictEqual(attempts, 2)
      assert.deepStrictEqual(yield* setEntries(store, "retry"), [])
    }).pipe(quietLogs),
  )
}

forEachStore(retries)
