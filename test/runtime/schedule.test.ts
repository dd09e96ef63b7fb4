/**
 * Acceptance: a scheduled job does not run before its time and runs once its time has come, with
 * time driven only by TestClock.
 */
import { assert, it } from "@effect/vitest"
import { DateTime, Effect, Schema } from "effect"
import { TestClock } from "effect/testing"
import { CurrentJob } from "../../packages/core/src/CurrentJob.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { forEachStore, forJid, is, quietLogs, type StoreKind, setEntries, startNode, T0 } from "./support.ts"

const scheduled = (kind: StoreKind) => {
  it.effect("Client.schedule(worker, args, '10 minutes'): not run at 9m59s, run after 10m", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const store = yield* kind.open
      const runs: Array<{ readonly arg: string; readonly enqueuedAt: number | undefined }> = []
      const Later = Worker.make({
        name: "Later",
        args: Schema.Tuple([Schema.String]),
        perform: ([arg]) =>
          Effect.gen(function* () {
            const current = yield* CurrentJob
            runs.push({
              arg,
              enqueuedAt: current.enqueuedAt === undefined ? undefined : DateTime.toEpochMillis(current.enqueuedAt),
            })
          }),
      })
      const node = yield* startNode(
        store,
        // The scheduler sleeps until the next due job or the poll interval: a long poll keeps the
        // 10 minutes of TestClock from waking every loop hundreds of times.
        { queues: { default: 2 }, pollInterval: "5 seconds", shutdownTimeout: "1 second" },
        [Later],
      )
      const job = yield* node.client.schedule(Later, ["hello"], "10 minutes")
      assert.isUndefined(job.enqueued_at, "a scheduled job is not enqueued yet")
      const [entry] = yield* setEntries(store, "schedule")
      assert.isDefined(entry)
      assert.strictEqual(entry!.job.jid, job.jid)
      assert.closeTo(entry!.score, T0 / 1000 + 600, 1e-6)

      yield* store.settle
      yield* TestClock.adjust("599 seconds") // 9m59s
      // Let every loop that woke act on it (Redis: real I/O), without moving the clock.
      yield* store.settle
      yield* store.settle
      assert.deepStrictEqual(runs, [], "not run at 9m59s")
      assert.strictEqual(node.events.count(is("JobStarted")), 0)
      assert.strictEqual(yield* store.store.setSize("schedule"), 1)
      assert.strictEqual(yield* store.store.queueSize("default"), 0)

      yield* TestClock.adjust("2 seconds")
      // Promotion needs no more clock moves: it happens within milliseconds.
      yield* node.events.await(forJid("JobFinished", job.jid), 1, { timeout: "2 seconds" })
      assert.strictEqual(runs.length, 1)
      assert.strictEqual(runs[0]!.arg, "hello")
      assert.isAtLeast(runs[0]!.enqueuedAt ?? 0, T0 + 600_000, "enqueued_at is stamped when it is promoted")
      assert.strictEqual(yield* store.store.setSize("schedule"), 0)
    }).pipe(quietLogs),
  )

  it.effect("a job scheduled in the past runs now", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const store = yield* kind.open
      let runs = 0
      const Now = Worker.make({ name: "Now", args: Schema.Tuple([]), perform: () => Effect.sync(() => runs++) })
      const node = yield* startNode(store, { queues: { default: 2 }, pollInterval: "1 second" }, [Now])
      const job = yield* node.client.schedule(Now, [], DateTime.makeUnsafe(T0 - 60_000))
      yield* node.events.await(forJid("JobFinished", job.jid))
      assert.strictEqual(runs, 1)
      assert.strictEqual(yield* store.store.setSize("schedule"), 0)
    }).pipe(quietLogs),
  )
}

forEachStore(scheduled)
