/**
 * The store's unique locks (see `Store.JobStoreShape.pushUnique` and Unique.ts in @verk/core). A
 * lock is a string key `verk:unique:<queue>:<digest>` holding its holder's jid, with a time to live
 * (PX); a debounced job's payload waits beside it in `verk:unique:<queue>:<digest>:waiting`. In the
 * cluster key scheme both carry the queue's hash tag, so one script takes the lock and writes the
 * job (to `queue:{<queue>}` or `schedule:{<queue>}`) in one slot. A release is a compare-and-delete.
 */
import { Payload, type Unique } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Replies from "./Replies.ts"
import * as Scripts from "./Scripts.ts"
import type { Operations } from "./StoreContext.ts"
import * as Wire from "./Wire.ts"

/** The push script's reply: what it did, and the jid holding the lock (as bytes). */
const PushReply = Schema.Tuple([Schema.Number, Schema.Union([Schema.Uint8Array, Schema.String])])

const text = (value: Uint8Array | string): string => (typeof value === "string" ? value : Buffer.from(value).toString())

export const make: Operations<"pushUnique" | "releaseUnique" | "uniqueLock"> = ({
  keys,
  scheme,
  durable,
  wire,
  redis,
  run,
  sendFor,
}) => ({
  pushUnique: (push) => {
    const scheduled = push.at !== undefined
    const target = scheduled ? keys.set("schedule", push.queue) : keys.queue(push.queue)
    const registered = scheduled
      ? scheme.registerHomes("pushUnique", push.queue)
      : scheme.register("pushUnique", keys.queues, push.queue)
    return registered.pipe(
      Effect.andThen(
        Wire.evalScript(wire, Scripts.uniquePush)(
          {
            lock: keys.uniqueLock(push.queue, push.digest),
            waiting: keys.uniqueWaiting(push.queue, push.digest),
            target,
            queues: scheduled ? undefined : scheme.scriptQueues,
          },
          push.jid,
          push.ttlMillis,
          Payload.toWire(push.payload),
          push.at,
          push.debounce,
          push.queue,
          scheme.channel,
        ).pipe(run("pushUnique", PushReply)),
      ),
      Effect.tap(([done]) =>
        scheme.publishAfter("pushUnique", scheduled ? "scheduled" : `work:${push.queue}`, done !== 0),
      ),
      durable("pushUnique", target),
      Effect.map(([done, holder]): Unique.PushReply => {
        const jid = text(holder)
        return done === 0 ? { _tag: "Duplicate", jid } : done === 2 ? { _tag: "Replaced", jid } : { _tag: "Pushed" }
      }),
    )
  },
  releaseUnique: (queue, digest, jid) =>
    redis
      .eval(Scripts.uniqueRelease)(
        { lock: keys.uniqueLock(queue, digest), waiting: keys.uniqueWaiting(queue, digest) },
        jid,
      )
      .pipe(
        run("releaseUnique", Replies.Integer),
        Effect.map((freed) => freed === 1),
      ),
  uniqueLock: (queue, digest) => {
    const key = keys.uniqueLock(queue, digest)
    return Effect.all(
      [
        sendFor(Schema.NullOr(Schema.String))("uniqueLock", "GET", key),
        sendFor(Replies.Integer)("uniqueLock", "PTTL", key),
      ],
      { concurrency: "unbounded" },
    ).pipe(
      Effect.map(([jid, ttlMillis]) => (jid === null || ttlMillis < 0 ? undefined : { queue, digest, jid, ttlMillis })),
    )
  },
})
