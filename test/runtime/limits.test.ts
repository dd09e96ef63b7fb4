/**
 * Limits on a node (see Limits.ts), on both stores: a job over a limit is snoozed, not run: it goes
 * to `schedule` with its payload byte for byte, is not counted as finished or failed, is published
 * (`JobSnoozed`) and counted (`verk_jobs_snoozed_total`), and the queue's other jobs run meanwhile.
 * On the in-memory store under TestClock, a rate limit of 2 per second runs 6 jobs in three
 * windows, and a concurrency limit of 2 never has more than 2 jobs running.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Exit, Metric, Schema, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Client from "../../packages/core/src/Client.ts"
import type { JobSnoozed } from "../../packages/core/src/Events.ts"
import * as Limits from "../../packages/core/src/Limits.ts"
import * as Testing from "../../packages/core/src/testing.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { forEachStore, is, quietLogs, type StoreKind, setEntries, startNode, storeKinds, T0 } from "./support.ts"

const memory = storeKinds[0]!

const Wait = { timeout: "3 seconds" } as const

const snoozedCount = (limit: string) =>
  Effect.map(Metric.snapshot, (snapshots) => {
    const found = snapshots.find(
      (snapshot) => snapshot.id === "verk_jobs_snoozed_total" && snapshot.attributes?.limit === limit,
    )
    return (found?.state as { readonly count: number } | undefined)?.count ?? 0
  })

/** No window of `perMillis` holds more than `limit` of `times`. */
const windowsHold = (times: ReadonlyArray<number>, limit: number, perMillis: number): boolean => {
  const sorted = [...times].sort((a, b) => a - b)
  return sorted.every((start) => sorted.filter((t) => t >= start && t < start + perMillis).length <= limit)
}

const snooze = (kind: StoreKind) => {
  it.effect("a job over a limit is snoozed: its payload unchanged in schedule, not run, not failed", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const store = yield* kind.open
      const name = `hourly-${kind.name}`
      const ran: Array<string> = []
      const Limited = Worker.make({
        name: "LimitedOnce",
        args: Schema.Tuple([Schema.String]),
        limits: [Limits.rate({ name, limit: 1, per: "1 hour" })],
        perform: ([tag]) => Effect.sync(() => ran.push(tag)),
      })
      const Free = Worker.make({
        name: "FreeJob",
        args: Schema.Tuple([Schema.String]),
        perform: ([tag]) => Effect.sync(() => ran.push(tag)),
      })
      const before = yield* snoozedCount(name)
      // Written as raw text, so that the snoozed payload can be compared byte for byte.
      const raw = (jid: string, tag: string) =>
        `{"class":"LimitedOnce","jid":"${jid}","queue":"default","args":["${tag}"],"created_at":1735689600,"retry":true}`
      yield* store.store.enqueue("default", [raw("a1", "first"), raw("a2", "second")])
      const node = yield* startNode(store, { queues: { default: 5 }, pollInterval: "1 second" }, [Limited, Free])
      const [snoozed] = yield* node.events.await<JobSnoozed>(is("JobSnoozed"), 1, Wait)
      yield* node.events.await(
        is("JobFinished", (event) => event.className === "LimitedOnce"),
        1,
        Wait,
      )
      const free = yield* node.client.enqueue(Free, ["free"])
      yield* node.events.await(
        is("JobFinished", (event) => event.jid === free.jid),
        1,
        Wait,
      )

      assert.strictEqual(snoozed?.limit, name)
      assert.strictEqual(snoozed?.className, "LimitedOnce")
      const now = (yield* Clock.currentTimeMillis) / 1000
      assert.isAtLeast(snoozed!.until, now + 3000, "back once the hour's window has room")
      const entries = yield* setEntries(store, "schedule")
      assert.strictEqual(entries.length, 1)
      assert.strictEqual(entries[0]!.raw, raw(snoozed!.jid, snoozed!.jid === "a1" ? "first" : "second"))
      assert.strictEqual(entries[0]!.score, snoozed!.until)
      assert.strictEqual(ran.length, 2, "one limited job and the free one ran")
      assert.include(ran, "free")
      assert.strictEqual(node.events.count(is("JobStarted", (event) => event.jid === snoozed!.jid)), 0)
      assert.strictEqual(node.events.count(is("JobFailed")), 0)
      assert.deepStrictEqual(yield* setEntries(store, "retry"), [])
      assert.deepStrictEqual(yield* setEntries(store, "dead"), [])
      assert.deepStrictEqual(yield* store.store.inProgress("default", node.verk.nodeId), [])
      const [stats] = yield* node.verk.queueStats
      assert.strictEqual(stats?.finished, 2)
      assert.strictEqual(stats?.failed, 0)
      assert.strictEqual((yield* snoozedCount(name)) - before, 1)
    }).pipe(quietLogs),
  )

  it.effect("a concurrency limit's slot is given back when the job ends: the next job takes it", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const store = yield* kind.open
      const name = `one-at-a-time-${kind.name}`
      const Limited = Worker.make({
        name: "OneAtATime",
        args: Schema.Tuple([Schema.Number]),
        limits: [Limits.concurrency({ name, limit: 1, snooze: "5 seconds" })],
        perform: () => Effect.void,
      })
      const node = yield* startNode(store, { queues: { default: 1 }, pollInterval: "1 second" }, [Limited])
      for (const n of [1, 2, 3]) {
        const job = yield* node.client.enqueue(Limited, [n])
        yield* node.events.await(
          is("JobFinished", (event) => event.jid === job.jid),
          1,
          Wait,
        )
      }
      assert.strictEqual(node.events.count(is("JobSnoozed")), 0, "one at a time, each found the slot free")
      assert.deepStrictEqual(yield* store.store.holders(name), [])
    }).pipe(quietLogs),
  )

  it.live("a shutdown that interrupts a job gives its slot back, and the job goes back to its queue", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const name = `held-at-shutdown-${kind.name}`
      const Long = Worker.make({
        name: "HeldLong",
        args: Schema.Tuple([]),
        limits: [Limits.concurrency({ name, limit: 1 })],
        perform: () => Effect.sleep("1 hour"),
      })
      const scope = yield* Scope.make()
      const node = yield* startNode(
        store,
        { queues: { default: 2 }, pollInterval: "1 second", shutdownTimeout: "100 millis" },
        [Long],
        scope,
      )
      yield* node.client.enqueue(Long, [])
      yield* node.events.await(is("JobStarted"), 1, Wait)
      assert.deepStrictEqual(
        (yield* store.store.holders(name)).map((hold) => hold.node),
        [node.verk.nodeId],
      )
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(yield* store.store.holders(name), [])
      assert.strictEqual(yield* store.store.queueSize("default"), 1, "requeued by the stopping node")
      assert.deepStrictEqual(yield* setEntries(store, "schedule"), [])
    }).pipe(quietLogs),
  )
}

forEachStore(snooze)

describe("under TestClock, on the in-memory store", () => {
  it.effect("a rate limit of 2 per second runs 6 jobs in three windows", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const starts: Array<number> = []
      const Limited = Worker.make({
        name: "TwoPerSecond",
        args: Schema.Tuple([Schema.Number]),
        limits: [Limits.rate({ name: "two-per-second", limit: 2, per: "1 second" })],
        perform: () => Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => starts.push(now - T0))),
      })
      const store = yield* memory.open
      const node = yield* startNode(store, { queues: { default: 10 }, pollInterval: "1 hour" }, [Limited])
      for (let n = 0; n < 6; n++) yield* node.client.enqueue(Limited, [n])
      yield* store.settle
      assert.strictEqual(starts.length, 2, "the first window")
      assert.strictEqual(node.events.count(is("JobSnoozed")), 4)
      yield* TestClock.adjust("1200 millis")
      yield* store.settle
      assert.strictEqual(starts.length, 4, "the second window")
      yield* TestClock.adjust("1200 millis")
      yield* store.settle
      assert.strictEqual(starts.length, 6, "the third window")
      assert.isTrue(windowsHold(starts, 2, 1000), `starts ${starts.join(", ")}`)
      assert.strictEqual(new Set(starts.map((t) => Math.floor(t / 1000))).size, 3)
      assert.deepStrictEqual(yield* setEntries(store, "retry"), [])
      assert.strictEqual(node.events.count(is("JobFinished")), 6)
      assert.strictEqual(node.events.count(is("JobFailed")), 0)
    }).pipe(quietLogs),
  )

  it.effect("a concurrency limit of 2 never has more than 2 running, and every job ends", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      let running = 0
      let most = 0
      const Limited = Worker.make({
        name: "TwoAtOnce",
        args: Schema.Tuple([Schema.Number]),
        limits: [Limits.concurrency({ name: "two-at-once", limit: 2, snooze: "200 millis" })],
        perform: () =>
          Effect.sync(() => {
            running++
            most = Math.max(most, running)
          }).pipe(Effect.andThen(Effect.sleep("100 millis")), Effect.ensuring(Effect.sync(() => running--))),
      })
      const store = yield* memory.open
      const node = yield* startNode(store, { queues: { default: 10 }, pollInterval: "1 hour" }, [Limited])
      for (let n = 0; n < 8; n++) yield* node.client.enqueue(Limited, [n])
      for (let step = 0; step < 40 && node.events.count(is("JobFinished")) < 8; step++) {
        yield* store.settle
        yield* TestClock.adjust("50 millis")
      }
      assert.strictEqual(node.events.count(is("JobFinished")), 8)
      assert.strictEqual(most, 2)
      assert.isAbove(node.events.count(is("JobSnoozed")), 0)
      assert.deepStrictEqual(yield* store.store.holders("two-at-once"), [])
    }).pipe(quietLogs),
  )
})

describe("a limit's key that throws", () => {
  it.effect("sends the job to the dead set with what it threw, and the queue's other jobs run", () =>
    Effect.gen(function* () {
      const Broken = Worker.make({
        name: "BrokenKey",
        args: Schema.Tuple([Schema.String]),
        limits: [
          Limits.rate({
            name: "broken",
            limit: 1,
            per: "1 second",
            key: (_: readonly [string]): string => {
              throw new Error("no customer in these args")
            },
          }),
        ],
        perform: () => Effect.void,
      })
      let fineRan = false
      const Fine = Worker.make({
        name: "FineJob",
        args: Schema.Tuple([]),
        perform: () =>
          Effect.sync(() => {
            fineRan = true
          }),
      })
      yield* Effect.gen(function* () {
        yield* Client.enqueue(Broken, ["x"])
        yield* Client.enqueue(Fine, [])
        yield* TestClock.adjust("10 millis")
        const [dead] = yield* Testing.dead
        assert.strictEqual(dead?.class, "BrokenKey")
        assert.include(String(dead?.error_message), "no customer in these args")
        assert.isTrue(fineRan)
      }).pipe(Effect.provide(Testing.layerReal([Broken, Fine])))
    }).pipe(quietLogs),
  )
})

describe("the testing kit's real mode", () => {
  it.effect("a queue's limit (Verk.layer's queueLimits) holds for every worker of the queue, keyed by wire args", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const starts: Array<readonly [string, number]> = []
      const record = (tag: string) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => starts.push([tag, now - T0])))
      const Mail = Worker.make({
        name: "KitMail",
        queue: "mail",
        args: Schema.Tuple([Schema.String]),
        perform: ([to]) => record(to),
      })
      const Digest = Worker.make({
        name: "KitDigest",
        queue: "mail",
        args: Schema.Tuple([Schema.String]),
        perform: ([to]) => record(to),
      })
      yield* Effect.gen(function* () {
        for (const to of ["a", "a", "a", "b"]) yield* Client.enqueue(Mail, [to])
        yield* Client.enqueue(Digest, ["a"])
        yield* TestClock.adjust("10 millis")
        // One start per second per recipient: a and b once each; a's other 3 wait.
        assert.deepStrictEqual(starts.map(([to]) => to).sort(), ["a", "b"])
        assert.lengthOf(yield* Testing.scheduled, 3)
        yield* TestClock.adjust("1200 millis")
        assert.lengthOf(starts, 3)
        yield* TestClock.adjust("1200 millis")
        yield* TestClock.adjust("1200 millis")
        assert.lengthOf(starts, 5)
        const times = starts.filter(([to]) => to === "a").map(([, at]) => at)
        assert.isTrue(windowsHold(times, 1, 1000), `a's starts ${times.join(", ")}`)
        assert.lengthOf(yield* Testing.retries, 0)
        const events = yield* Testing.events
        assert.strictEqual(events.filter((event) => event._tag === "JobFinished").length, 5)
        assert.isAtLeast(events.filter((event) => event._tag === "JobSnoozed").length, 3)
      }).pipe(
        Effect.provide(
          Testing.layerReal([Mail, Digest], {
            queueLimits: {
              mail: [Limits.rate({ name: "per-recipient", limit: 1, per: "1 second", key: ([to]) => String(to) })],
            },
          }),
        ),
      )
    }).pipe(quietLogs),
  )
})
