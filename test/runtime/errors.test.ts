/**
 * Acceptance: errors keep their words, and a worker can say a failure is not worth retrying.
 *
 * - A tagged error's fields reach the job's `error_message` (the retry entry, the event).
 * - A failure the worker's `retryable` refuses, or a `Worker.Unrecoverable`, goes to dead at once:
 *   no retry entry, one `JobDead`, and nothing runs it again (fenced by a later job that runs after
 *   any retry would have).
 */
import { assert, it } from "@effect/vitest"
import { Data, Effect, Schema } from "effect"
import { TestClock } from "effect/testing"
import type { JobDead, JobFailed } from "../../packages/core/src/Events.ts"
import type * as Settings from "../../packages/core/src/Settings.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { forEachStore, forJid, quietLogs, type StoreKind, setEntries, startNode, T0 } from "./support.ts"

class MailError extends Data.TaggedError("MailError")<{ readonly reason: string; readonly to: string }> {}

const Words = "reason: bounced, to: ada@example.com"
const Wait = { timeout: "2 seconds" } as const
/** One slot: jobs of the queue run one after the other, in the order they come out of it. */
const config: Settings.Input = { queues: { default: 1 }, pollInterval: "1 second", shutdownTimeout: "1 second" }

const errors = (kind: StoreKind) => {
  it.live("a tagged error's fields reach error_message in the retry entry and the JobFailed event", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const Mail = Worker.make({
        name: "Mail",
        args: Schema.Tuple([Schema.String]),
        perform: ([to]) => Effect.fail(new MailError({ reason: "bounced", to })),
      })
      const node = yield* startNode(store, config, [Mail])
      const job = yield* node.client.enqueue(Mail, ["ada@example.com"])
      const [failed] = yield* node.events.await<JobFailed>(forJid("JobFailed", job.jid))
      assert.strictEqual(failed?.errorClass, "MailError")
      assert.strictEqual(failed?.errorMessage, Words)
      assert.strictEqual(failed?.error, `MailError: ${Words}`)
      const entries = yield* setEntries(store, "retry")
      assert.strictEqual(entries.length, 1)
      assert.strictEqual(entries[0]!.job.jid, job.jid)
      assert.strictEqual(entries[0]!.job.error_class, "MailError")
      assert.strictEqual(entries[0]!.job.error_message, Words)
    }).pipe(quietLogs),
  )

  it.effect("a failure the worker's retryable refuses goes to dead at once: no retry entry, one JobDead", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const store = yield* kind.open
      const runs: Array<string> = []
      const asked: Array<string> = []
      const Mail = Worker.make({
        name: "Mail",
        args: Schema.Tuple([Schema.String]),
        retry: 25,
        perform: ([to]) =>
          Effect.suspend(() => {
            runs.push(to)
            return to === "fence@example.com" ? Effect.void : Effect.fail(new MailError({ reason: "bounced", to }))
          }),
        retryable: (error) => {
          asked.push(error.reason)
          return error.reason !== "bounced"
        },
      })
      const node = yield* startNode(store, config, [Mail])
      const job = yield* node.client.enqueue(Mail, ["ada@example.com"])

      const [dead] = yield* node.events.await<JobDead>(forJid("JobDead", job.jid), 1, Wait)
      assert.strictEqual(dead?.reason, `not retryable (the worker's retryable said no): MailError: ${Words}`)
      assert.strictEqual(dead?.errorMessage, Words)
      assert.deepStrictEqual(yield* setEntries(store, "retry"), [], "no retry entry")
      const entries = yield* setEntries(store, "dead")
      assert.strictEqual(entries.length, 1)
      assert.strictEqual(entries[0]!.job.jid, job.jid)
      assert.strictEqual(entries[0]!.job.error_class, "MailError")
      assert.strictEqual(entries[0]!.job.error_message, Words)
      assert.strictEqual(entries[0]!.job.retry_count, 0)

      // Fence: a job scheduled a minute on, past any first retry (Sidekiq's is 15 to 24 s on). Once
      // it has run, a retry would have been promoted and run before it (one slot).
      const fence = yield* node.client.schedule(Mail, ["fence@example.com"], "1 minute")
      yield* store.settle
      yield* TestClock.adjust("2 minutes")
      yield* node.events.await(forJid("JobFinished", fence.jid), 1, Wait)
      assert.deepStrictEqual(runs, ["ada@example.com", "fence@example.com"], "the refused job ran once")
      assert.deepStrictEqual(asked, ["bounced"], "retryable was asked once, with the error")
      assert.strictEqual(node.events.count(forJid("JobDead", job.jid)), 1)
      assert.strictEqual(node.events.count(forJid("JobFailed", job.jid)), 1)
      assert.strictEqual((yield* setEntries(store, "dead")).length, 1)
    }).pipe(quietLogs),
  )

  it.live("a job failing with Worker.Unrecoverable goes to dead at once, its cause's words kept", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const runs: Array<string> = []
      const Close = Worker.make({
        name: "Close",
        args: Schema.Tuple([Schema.String]),
        perform: ([to]) =>
          Effect.suspend(() => {
            runs.push(to)
            if (to === "fence@example.com") return Effect.void
            const cause = new MailError({ reason: "bounced", to })
            return Effect.fail(new Worker.Unrecoverable({ reason: "account closed", cause }))
          }),
      })
      const node = yield* startNode(store, config, [Close])
      const job = yield* node.client.enqueue(Close, ["ada@example.com"])
      const [dead] = yield* node.events.await<JobDead>(forJid("JobDead", job.jid))
      const words = `account closed (cause: MailError: ${Words})`
      assert.strictEqual(dead?.reason, `not retryable (the job failed with Unrecoverable): Unrecoverable: ${words}`)
      // Fence: the next job of the one-slot queue has run, so the first one's run is over.
      const fence = yield* node.client.enqueue(Close, ["fence@example.com"])
      yield* node.events.await(forJid("JobFinished", fence.jid))
      assert.deepStrictEqual(yield* setEntries(store, "retry"), [], "no retry entry")
      const entries = yield* setEntries(store, "dead")
      assert.strictEqual(entries.length, 1)
      assert.strictEqual(entries[0]!.job.error_class, "Unrecoverable")
      assert.strictEqual(entries[0]!.job.error_message, words)
      assert.deepStrictEqual(runs, ["ada@example.com", "fence@example.com"])
      assert.strictEqual(node.events.count(forJid("JobDead", job.jid)), 1)
    }).pipe(quietLogs),
  )
}

forEachStore(errors)
