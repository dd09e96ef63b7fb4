/**
 * Issue 9, defect 8, the node's side: notifications published while the store's subscription was
 * down are lost, and `Resubscribed` says so. The node then wakes every queue and the scheduler
 * once. Here a store loses every Work and Scheduled notification on purpose (as if the subscriber
 * were reconnecting) and then says Resubscribed; with a 30 s poll interval only that wake-up can
 * explain the pickups. The Redis store's own Resubscribed is tested in test/fault/resubscribe.test.ts.
 */
import { it } from "@effect/vitest"
import { Effect, Queue, Ref, Schema, Stream } from "effect"
import { CurrentJob } from "../../packages/core/src/CurrentJob.ts"
import { type Notification, context as storeContext } from "../../packages/core/src/Store.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { forJid, quietLogs, startNode, storeKinds, type TestStore } from "./support.ts"

const memoryKind = storeKinds.find((kind) => !kind.isRedis)
if (memoryKind === undefined) throw new Error("no in-memory store kind")

const config = { queues: { a: 1, b: 1 }, pollInterval: "30 seconds", shutdownTimeout: "200 millis" } as const

it.live("Resubscribed wakes every queue and the scheduler: jobs whose notifications were lost run at once", () =>
  Effect.gen(function* () {
    const opened = yield* memoryKind.open
    const losing = yield* Ref.make(false)
    const said = yield* Queue.unbounded<Notification>()
    const lost = (notice: Notification) =>
      Effect.map(Ref.get(losing), (on) => on && (notice._tag === "Work" || notice._tag === "Scheduled"))
    const store = {
      ...opened.store,
      notifications: Stream.merge(
        opened.store.notifications.pipe(Stream.filterEffect((notice) => Effect.map(lost(notice), (gone) => !gone))),
        Stream.fromQueue(said),
      ),
    }
    const testStore: TestStore = { ...opened, store, context: storeContext(store) }
    const Ok = Worker.make({
      name: "Ok",
      args: Schema.Tuple([]),
      perform: () => Effect.asVoid(CurrentJob),
    })
    const node = yield* startNode(testStore, config, [Ok])

    // Both queues and the scheduler have looked once and sleep, waiting for a signal (the scheduler
    // for the poll interval: only a wake-up can run the scheduled job within seconds).
    const warmA = yield* node.client.enqueue(Ok, [], { queue: "a" })
    const warmB = yield* node.client.enqueue(Ok, [], { queue: "b" })
    yield* node.events.await(forJid("JobFinished", warmA.jid))
    yield* node.events.await(forJid("JobFinished", warmB.jid))

    yield* Ref.set(losing, true)
    const inA = yield* node.client.enqueue(Ok, [], { queue: "a" })
    const inB = yield* node.client.enqueue(Ok, [], { queue: "b" })
    const scheduled = yield* node.client.schedule(Ok, [], "10 millis", { queue: "a" })
    yield* Ref.set(losing, false)

    yield* Queue.offer(said, { _tag: "Resubscribed" })
    for (const jid of [inA.jid, inB.jid, scheduled.jid]) {
      yield* node.events.await(forJid("JobFinished", jid), 1, { timeout: "5 seconds" })
    }
  }).pipe(quietLogs),
)
