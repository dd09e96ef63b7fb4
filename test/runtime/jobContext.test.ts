/**
 * Acceptance: inside `perform`, `CurrentJob` describes the job being run (Verk's `current_job`);
 * `verk.queueStats` shows each queue's status and counts (Verk's `QueueStats`).
 */
import { assert, it } from "@effect/vitest"
import { Data, DateTime, Deferred, Effect, Schedule, Schema } from "effect"
import { CurrentJob } from "../../packages/core/src/CurrentJob.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import {
  eventually,
  forEachStore,
  forJid,
  forQueue,
  quietLogs,
  type StoreKind,
  startNode,
  type TestNode,
} from "./support.ts"

class Nope extends Data.TaggedError("Nope")<{ readonly reason?: string }> {}

interface Seen {
  readonly jid: string
  readonly queue: string
  readonly className: string
  readonly retryCount: number | undefined
  readonly enqueuedAtMillis: number | undefined
  readonly args: ReadonlyArray<unknown>
}

const config = { pollInterval: "200 millis", shutdownTimeout: "200 millis" } as const

const statsOf = (node: TestNode, queue: string) =>
  Effect.map(node.verk.queueStats, (stats) => stats.find((stat) => stat.queue === queue))

const jobContext = (kind: StoreKind) => {
  it.live("perform reads CurrentJob: jid, queue, class, retryCount and enqueuedAt of the job it runs", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const seen: Array<Seen> = []
      let runs = 0
      const Inspect = Worker.make({
        name: "Inspect",
        args: Schema.Tuple([Schema.String, Schema.Boolean]),
        // Sidekiq's minimum is 1 s; a few ms keep the test short.
        retryPolicy: Schedule.spaced("10 millis"),
        perform: ([, failFirst]) =>
          Effect.gen(function* () {
            const current = yield* CurrentJob
            seen.push({
              jid: current.jid,
              queue: current.queue,
              className: current.className,
              retryCount: current.retryCount,
              enqueuedAtMillis:
                current.enqueuedAt === undefined ? undefined : DateTime.toEpochMillis(current.enqueuedAt),
              args: current.job.args,
            })
            if (failFirst && runs++ === 0) return yield* new Nope({})
          }),
      })
      const node = yield* startNode(store, { ...config, queues: { default: 2, mail: 2 } }, [Inspect])

      const plain = yield* node.client.enqueue(Inspect, ["plain", false], { queue: "mail" })
      yield* node.events.await(forJid("JobFinished", plain.jid))
      assert.deepStrictEqual(seen[0], {
        jid: plain.jid,
        queue: "mail",
        className: "Inspect",
        retryCount: undefined,
        enqueuedAtMillis: plain.enqueued_at! * 1000,
        args: ["plain", false],
      })

      const retried = yield* node.client.enqueue(Inspect, ["retried", true])
      yield* node.events.await(forJid("JobFinished", retried.jid))
      assert.strictEqual(seen.length, 3)
      assert.strictEqual(seen[1]?.jid, retried.jid)
      assert.strictEqual(seen[1]?.queue, "default")
      assert.isUndefined(seen[1]?.retryCount, "first run: no retry_count yet")
      assert.strictEqual(seen[1]?.enqueuedAtMillis, retried.enqueued_at! * 1000)
      assert.strictEqual(seen[2]?.jid, retried.jid)
      assert.strictEqual(seen[2]?.retryCount, 0, "first retry: Sidekiq's retry_count 0")
      assert.isAtLeast(seen[2]?.enqueuedAtMillis ?? 0, seen[1]?.enqueuedAtMillis ?? 0, "re-stamped on promotion")
    }).pipe(quietLogs),
  )

  it.live("queueStats shows idle, running and paused queues with finished and failed counts", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const gate = yield* Deferred.make<void>()
      const Job = Worker.make({
        name: "Job",
        args: Schema.Tuple([Schema.Literals(["gate", "ok", "fail"])]),
        perform: ([what]) =>
          what === "gate" ? Deferred.await(gate) : what === "fail" ? Effect.fail(new Nope({})) : Effect.void,
      })
      const node = yield* startNode(store, { ...config, queues: { default: 2, mail: 1 } }, [Job])
      yield* Effect.addFinalizer(() => Deferred.succeed(gate, undefined))

      assert.deepStrictEqual(yield* node.verk.queueStats, [
        { queue: "default", pool: "default", status: "idle", concurrency: 2, running: 0, finished: 0, failed: 0 },
        { queue: "mail", pool: "mail", status: "idle", concurrency: 1, running: 0, finished: 0, failed: 0 },
      ])

      const gated = yield* node.client.enqueue(Job, ["gate"])
      yield* node.events.await(forJid("JobStarted", gated.jid))
      assert.deepStrictEqual(yield* statsOf(node, "default"), {
        queue: "default",
        pool: "default",
        status: "running",
        concurrency: 2,
        running: 1,
        finished: 0,
        failed: 0,
      })
      yield* Deferred.succeed(gate, undefined)
      yield* node.events.await(forJid("JobFinished", gated.jid))

      const ok = yield* node.client.enqueue(Job, ["ok"])
      yield* node.events.await(forJid("JobFinished", ok.jid))
      const dies = yield* node.client.enqueue(Job, ["fail"], { retry: false })
      yield* node.events.await(forJid("JobDead", dies.jid))
      const retries = yield* node.client.enqueue(Job, ["fail"])
      yield* node.events.await(forJid("JobFailed", retries.jid))
      assert.deepStrictEqual(yield* statsOf(node, "default"), {
        queue: "default",
        pool: "default",
        status: "idle",
        concurrency: 2,
        running: 0,
        finished: 2,
        failed: 2,
      })

      yield* node.verk.pause("mail")
      yield* node.events.await(forQueue("QueuePaused", "mail"))
      assert.strictEqual((yield* statsOf(node, "mail"))?.status, "paused")
      assert.strictEqual((yield* statsOf(node, "default"))?.status, "idle", "pausing one queue leaves the others")
      yield* node.verk.resume("mail")
      yield* node.events.await(forQueue("QueueRunning", "mail"))
      assert.strictEqual((yield* statsOf(node, "mail"))?.status, "idle")
    }).pipe(quietLogs),
  )

  it.live("addQueue and removeQueue show in queueStats; a removed queue stops fetching", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      let runs = 0
      const Job = Worker.make({ name: "Job", args: Schema.Tuple([]), perform: () => Effect.sync(() => runs++) })
      const node = yield* startNode(store, { ...config, queues: { default: 1 } }, [Job])
      yield* node.verk.addQueue("extra", 3)
      yield* node.events.await(forQueue("QueueRunning", "extra"))
      yield* eventually(
        "queueStats lists a queue added at run time",
        Effect.map(statsOf(node, "extra"), (stats) => stats !== undefined),
        "1 second",
      )
      assert.deepStrictEqual(yield* statsOf(node, "extra"), {
        queue: "extra",
        pool: "extra",
        status: "idle",
        concurrency: 3,
        running: 0,
        finished: 0,
        failed: 0,
      })
      const job = yield* node.client.enqueue(Job, [], { queue: "extra" })
      yield* node.events.await(forJid("JobFinished", job.jid))

      yield* node.verk.removeQueue("extra")
      assert.isUndefined(yield* statsOf(node, "extra"))
      assert.deepStrictEqual(
        (yield* node.verk.queueStats).map((stat) => stat.queue),
        ["default"],
      )
      yield* node.client.enqueue(Job, [], { queue: "extra" })
      yield* Effect.sleep("150 millis")
      assert.strictEqual(runs, 1)
      assert.strictEqual(yield* store.store.queueSize("extra"), 1)
    }).pipe(quietLogs),
  )
}

forEachStore(jobContext)
