/**
 * Issue 9, defect 8: wake-ups are not lost while the subscriber reconnects. A push publishes
 * `work:<queue>`; a publish that happens while the node's pub/sub connection is down reaches
 * nobody, and the job waited for the poll. Once the subscription is back, the store says so
 * (`Resubscribed`) and the node wakes every queue. The node runs in this process on a private
 * redis-server (killing pub/sub clients would hit other tests' subscribers on the shared one), with
 * a 30 s poll interval: only a wake-up can explain a pickup within seconds.
 */
import { assert, it } from "@effect/vitest"
import { Context, Effect, Layer, Logger, Queue, References, Schema, Stream } from "effect"
import { describe } from "vitest"
import { Client } from "../../packages/core/src/Client.ts"
import { CurrentJob } from "../../packages/core/src/CurrentJob.ts"
import { Store } from "../../packages/core/src/Store.ts"
import * as Verk from "../../packages/core/src/Verk.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { privateRedis, waitUntil } from "./support.ts"

const local = privateRedis()

/** Subscribers of the notification channel, as Redis counts them. */
const subscribers = async (): Promise<number> => {
  const reply = (await local.redis.call("PUBSUB", "NUMSUB", "verk:notify")) as [string, number]
  return Number(reply[1])
}

const awaitSubscribers = (count: number) =>
  Effect.promise(() =>
    waitUntil(`${count} subscriber(s) on verk:notify`, async () => (await subscribers()) === count, 5_000, 5),
  )

const killSubscribers = Effect.promise(async () => Number(await local.redis.call("CLIENT", "KILL", "TYPE", "pubsub")))

describe("the notification subscriber reconnects", () => {
  it.live("the store says Resubscribed once the subscription is live again", () =>
    Effect.gen(function* () {
      const store = yield* Store
      const heard = yield* Queue.unbounded<string>()
      yield* store.notifications.pipe(
        Stream.runForEach((notice) => Queue.offer(heard, notice._tag)),
        Effect.forkScoped,
      )
      yield* awaitSubscribers(1)
      assert.strictEqual(yield* killSubscribers, 1)
      assert.strictEqual(yield* Queue.take(heard).pipe(Effect.timeout("5 seconds")), "Resubscribed")
      // It is said once the subscription is live: a push right after it is heard.
      assert.strictEqual(yield* Effect.promise(subscribers), 1)
      yield* store.enqueue("q", ["a"])
      assert.strictEqual(yield* Queue.take(heard).pipe(Effect.timeout("5 seconds")), "Work")
    }).pipe(Effect.provide(Layer.fresh(RedisStore.layer({ url: local.server.url })))),
  )

  it.live("a job pushed while it was down is picked up once it is back, without waiting for the poll", () => {
    const lines: Array<string> = []
    return Effect.gen(function* () {
      const ran = yield* Queue.unbounded<string>()
      const Ping = Worker.make({
        name: "Ping",
        args: Schema.Tuple([]),
        perform: () => Effect.flatMap(CurrentJob, (job) => Queue.offer(ran, job.jid)),
      })
      const node = yield* Layer.build(
        Verk.layer({ workers: [Ping], queues: { default: 5 }, pollInterval: "30 seconds" }).pipe(
          Layer.provideMerge(Layer.fresh(RedisStore.layer({ url: local.server.url }))),
        ),
      )
      const client = Context.get(node, Client)
      yield* awaitSubscribers(1)
      const first = yield* client.enqueue(Ping, [])
      assert.strictEqual(yield* Queue.take(ran).pipe(Effect.timeout("5 seconds")), first.jid)

      assert.strictEqual(yield* killSubscribers, 1)
      const pushed = yield* client.enqueue(Ping, [])
      // Its notification went to nobody: the subscriber was not back yet.
      assert.strictEqual(yield* Effect.promise(subscribers), 0)
      // The fence: the node says it is subscribed again (and wakes every queue).
      yield* Effect.promise(() =>
        waitUntil("the resubscription's log line", async () => lines.some((line) => /resubscribed/i.test(line)), 5_000),
      )
      assert.strictEqual(yield* Queue.take(ran).pipe(Effect.timeout("5 seconds")), pushed.jid)
    }).pipe(
      Effect.provide(
        Logger.layer([
          Logger.make(({ message }) => lines.push(Array.isArray(message) ? message.join(" ") : String(message))),
        ]),
      ),
      Effect.provideService(References.MinimumLogLevel, "Info"),
    )
  })
})
