/**
 * Acceptance: payloads that cannot be jobs go to dead with their text kept and do not stop the
 * queue; a job of an unknown class is a failure that retries (a deploy may bring its worker); args
 * failing the worker's schema go to dead at once (the same args fail again); a job over its
 * worker's timeout is interrupted and retried.
 */
import { assert, it } from "@effect/vitest"
import { Clock, Effect, Schema } from "effect"
import type { JobDead } from "../../packages/core/src/Events.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { forEachStore, forJid, is, quietLogs, type StoreKind, setEntries, startNode } from "./support.ts"

const config = { queues: { default: 3 }, pollInterval: "200 millis", shutdownTimeout: "200 millis" } as const

const failures = (kind: StoreKind) => {
  it.live("a malformed payload goes to dead with its raw text and a JobDead event; later jobs still run", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const performed: Array<number> = []
      const Count = Worker.make({
        name: "Count",
        args: Schema.Tuple([Schema.Int]),
        perform: ([n]) => Effect.sync(() => performed.push(n)),
      })
      const node = yield* startNode(store, config, [Count])
      const notJson = "{not json"
      const noClass = JSON.stringify({ queue: "default", args: [1], jid: "no-class-jid" })

      yield* store.store.enqueue("default", [notJson])
      const [dead] = yield* node.events.await<JobDead>(is("JobDead"))
      assert.isUndefined(dead?.jid)
      assert.strictEqual(dead?.queue, "default")
      assert.isNotEmpty(dead?.reason ?? "")

      yield* store.store.enqueue("default", [noClass])
      yield* node.events.await(is("JobDead"), 2)

      const job = yield* node.client.enqueue(Count, [42])
      yield* node.events.await(forJid("JobFinished", job.jid))
      assert.deepStrictEqual(performed, [42], "the queue goes on after malformed payloads")

      const entries = yield* setEntries(store, "dead")
      assert.strictEqual(entries.length, 2)
      const byPayload = new Map(entries.map((entry) => [entry.job.payload, entry.job]))
      for (const raw of [notJson, noClass]) {
        const entry = byPayload.get(raw)
        assert.isDefined(entry, `the dead set keeps ${raw} byte for byte in "payload"`)
        assert.isString(entry?.error_message)
        assert.isNotEmpty(entry?.error_message ?? "")
      }
      assert.deepStrictEqual(yield* store.store.inProgress("default", node.verk.nodeId), [])
      assert.strictEqual(yield* store.store.queueSize("default"), 0)
      assert.strictEqual(node.events.count(is("JobStarted")), 1, "a malformed payload is never started")
    }).pipe(quietLogs),
  )

  it.live("a job of an unknown class fails with UnknownJobClass into the retry set", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const node = yield* startNode(store, config, [])
      const job = yield* node.client.enqueueRaw({ class: "Nobody", args: [1, "two"] })
      const [failed] = yield* node.events.await(forJid("JobFailed", job.jid))
      assert.match(failed?.error ?? "", /UnknownJobClass/)
      const entries = yield* setEntries(store, "retry")
      assert.strictEqual(entries.length, 1)
      assert.strictEqual(entries[0]!.job.jid, job.jid)
      assert.strictEqual(entries[0]!.job.error_class, "UnknownJobClass")
      assert.match(entries[0]!.job.error_message ?? "", /Nobody/)
      assert.strictEqual(entries[0]!.job.retry_count, 0)
      assert.deepStrictEqual(entries[0]!.job.args, [1, "two"], "args are kept as they were")
      assert.deepStrictEqual(yield* setEntries(store, "dead"), [])
    }).pipe(quietLogs),
  )

  it.live("a job whose args fail the worker's schema goes to dead at once with InvalidJobArgs, not retried", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const performed: Array<number> = []
      const Count = Worker.make({
        name: "Count",
        args: Schema.Tuple([Schema.Int]),
        perform: ([n]) => Effect.sync(() => performed.push(n)),
      })
      const node = yield* startNode(store, { ...config, queues: { default: 1 } }, [Count])
      const job = yield* node.client.enqueueRaw({ class: "Count", args: ["not a number"] })
      const [dead] = yield* node.events.await<JobDead>(forJid("JobDead", job.jid))
      assert.match(dead?.reason ?? "", /^not retryable \(its args do not match the worker's schema\): InvalidJobArgs: /)
      // Fence: a later job of the same queue (one slot) has run, so the bad one's run is over.
      const later = yield* node.client.enqueue(Count, [7])
      yield* node.events.await(forJid("JobFinished", later.jid))
      assert.deepStrictEqual(yield* setEntries(store, "retry"), [], "no retry entry")
      const entries = yield* setEntries(store, "dead")
      assert.strictEqual(entries.length, 1)
      assert.strictEqual(entries[0]!.job.jid, job.jid)
      assert.strictEqual(entries[0]!.job.error_class, "InvalidJobArgs")
      assert.match(entries[0]!.job.error_message ?? "", /Count/)
      assert.strictEqual(node.events.count(forJid("JobDead", job.jid)), 1)
      assert.strictEqual(node.events.count(forJid("JobFailed", job.jid)), 1)
      assert.deepStrictEqual(performed, [7], "perform never sees undecodable args")
    }).pipe(quietLogs),
  )

  it.live("a job over its worker's timeout (100 ms, sleeping 1 s) is interrupted and retried", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      let completed = false
      let interrupted = false
      const Slow = Worker.make({
        name: "Slow",
        args: Schema.Tuple([]),
        timeout: "100 millis",
        perform: () =>
          Effect.sleep("1 second").pipe(
            Effect.andThen(Effect.sync(() => (completed = true))),
            Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))),
          ),
      })
      const node = yield* startNode(store, config, [Slow])
      const started = yield* Clock.currentTimeMillis
      const job = yield* node.client.enqueue(Slow, [])
      const [failed] = yield* node.events.await(forJid("JobFailed", job.jid), 1, { timeout: "900 millis" })
      const elapsed = (yield* Clock.currentTimeMillis) - started
      assert.isBelow(elapsed, 900, "the job fails at its timeout, not when it would have finished")
      assert.isTrue(interrupted, "perform was interrupted")
      assert.isFalse(completed)
      assert.match(failed?.error ?? "", /timeout|timed out/i)
      const entries = yield* setEntries(store, "retry")
      assert.strictEqual(entries.length, 1)
      assert.strictEqual(entries[0]!.job.jid, job.jid)
      assert.match(entries[0]!.job.error_class ?? "", /timeout/i)
      assert.deepStrictEqual(yield* store.store.inProgress("default", node.verk.nodeId), [])
    }).pipe(quietLogs),
  )
}

forEachStore(failures)
