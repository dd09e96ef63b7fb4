/**
 * The store's sorted sets (schedule, retry, dead: adding, reading, promoting when due, deleting)
 * and its admin reads and writes of queues and stats. In the cluster scheme a set is the union of
 * its homes' parts (see KeyScheme.ts).
 */
import { Job, Payload, Store } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Keys from "./Keys.ts"
import * as Replies from "./Replies.ts"
import * as Scripts from "./Scripts.ts"
import type { Operations, StoreContext } from "./StoreContext.ts"
import * as Wire from "./Wire.ts"

const { toWire } = Payload
const { Integer } = Replies

/**
 * Promotions of members of `home`'s part of `set`, one script call: to queues (Sidekiq's
 * scheme: any; the cluster's: `home` itself, in its slot) or to dead. In the cluster scheme a
 * promotion to another queue is two steps: the push, then the removal from the set, taken back
 * when another node removed the member first (so it is never lost, and runs twice only if this
 * node dies between the steps).
 */
const promoteHome = Effect.fnUntraced(function* (
  { keys, scheme, wire, run, sendBytes }: StoreContext,
  set: Store.SortedSetName,
  home: string,
  promotions: ReadonlyArray<Store.Promotion>,
  deadAt: number,
) {
  const here = promotions.filter(({ queue }) => queue === undefined || scheme.oneSlot(queue, home))
  const elsewhere = promotions.filter(({ queue }) => queue !== undefined && !scheme.oneSlot(queue, home))
  const queueNames = [...new Set(here.flatMap(({ queue }) => (queue === undefined ? [] : [queue])))]
  let moved = 0
  if (here.length > 0) {
    yield* scheme.register("promote", keys.queues, ...queueNames)
    moved += yield* Wire.evalScript(wire, Scripts.promote)(
      {
        set: keys.set(set, home),
        dead: keys.set("dead", home),
        queues: queueNames.map(keys.queue),
        registry: scheme.scriptQueues,
      },
      scheme.channel,
      deadAt,
      here.map(({ raw, payload, queue }) => ({
        raw: toWire(raw),
        payload: toWire(payload),
        queue: queue ?? "",
        index: queue === undefined ? 0 : queueNames.indexOf(queue) + 1,
      })),
    ).pipe(
      run("promote", Replies.PromoteReply),
      Effect.tap(([, pushed]) =>
        Effect.forEach(pushed, (queue) => scheme.publishAfter("promote", `work:${Buffer.from(queue).toString()}`), {
          discard: true,
        }),
      ),
      Effect.map(([count]) => count),
    )
  }
  for (const { raw, payload, queue = home } of elsewhere) {
    yield* sendBytes(Integer)("promote", "LPUSH", keys.queue(queue), toWire(payload))
    const removed = yield* sendBytes(Integer)("promote", "ZREM", keys.set(set, home), toWire(raw))
    if (removed === 0) yield* sendBytes(Integer)("promote", "LREM", keys.queue(queue), 1, toWire(payload))
    else {
      moved++
      yield* scheme.register("promote", keys.queues, queue)
      yield* scheme.publish("promote", `work:${queue}`)
    }
  }
  return moved
})

/** What the scheduler does with the sets: add, find the earliest, read what is due, promote it. */
const scheduling: Operations<"addScheduled" | "earliest" | "due" | "promote"> = (context) => {
  const { keys, scheme, durable, sendFor, sendBytes, payloads } = context
  return {
    addScheduled: (set, entries) => {
      if (entries.length === 0) return Effect.void
      const groups = scheme.byHome(entries, (entry) => entry.payload)
      return scheme
        .registerHomes("addScheduled", ...groups.keys())
        .pipe(
          Effect.andThen(
            Effect.forEach(
              groups,
              ([home, group]) =>
                sendBytes(Integer)(
                  "addScheduled",
                  "ZADD",
                  keys.set(set, home),
                  ...group.flatMap(({ payload, score }) => [score, toWire(payload)]),
                ).pipe(durable("addScheduled", keys.set(set, home))),
              { concurrency: "unbounded", discard: true },
            ),
          ),
          Effect.andThen(scheme.publish("addScheduled", "scheduled")),
          Effect.asVoid,
        )
    },
    earliest: (set) =>
      scheme
        .eachHome("earliest", (home) =>
          sendFor(Replies.ScoredPairs)("earliest", "ZRANGE", keys.set(set, home), 0, 0, "WITHSCORES"),
        )
        .pipe(
          Effect.map((replies) => {
            const scores = replies.flatMap((pairs) => (pairs[0] === undefined ? [] : [Number(pairs[0][1])]))
            return scores.length === 0 ? undefined : Math.min(...scores)
          }),
        ),
    due: (set, now, limit) => {
      if (limit < 1) return Effect.succeed([])
      // One set: its own order and limit, no scores needed.
      if (!scheme.cluster) {
        return payloads("due", "ZRANGEBYSCORE", keys.set(set, Keys.DefaultHome), "-inf", now, "LIMIT", 0, limit)
      }
      return scheme
        .eachHome("due", (home) =>
          sendBytes(Replies.ScoredPayloads)(
            "due",
            "ZRANGEBYSCORE",
            keys.set(set, home),
            "-inf",
            now,
            "WITHSCORES",
            "LIMIT",
            0,
            limit,
          ).pipe(Effect.map(Replies.toScored)),
        )
        .pipe(
          Effect.map((parts) =>
            Replies.byScore(parts.flat())
              .slice(0, limit)
              .map(({ payload }) => payload),
          ),
        )
    },
    promote: (set, promotions, deadAt) =>
      promotions.length === 0
        ? Effect.succeed(0)
        : Effect.forEach(
            scheme.byHome(promotions, (promotion) => promotion.raw),
            ([home, group]) => promoteHome(context, set, home, group, deadAt),
            { concurrency: "unbounded" },
          ).pipe(
            Effect.map((moved) => moved.reduce((sum, n) => sum + n, 0)),
            Effect.withSpan("RedisStore.promote"),
          ),
  }
}

/** The sets as the admin (CLI, dashboard) reads and changes them. */
const setAdmin: Operations<"setSize" | "setRange" | "deleteFromSet" | "clearSet"> = ({
  keys,
  scheme,
  send,
  count,
  sendBytes,
}) => ({
  setSize: (set) =>
    scheme
      .eachHome("setSize", (home) => count("setSize", "ZCARD", keys.set(set, home)))
      .pipe(Effect.map((sizes) => sizes.reduce((sum, n) => sum + n, 0))),
  setRange: (set, start, stop) => {
    const range = (home: string, from: number, to: number) =>
      sendBytes(Replies.ScoredPayloads)("setRange", "ZRANGE", keys.set(set, home), from, to, "WITHSCORES").pipe(
        Effect.map(Replies.toScored),
      )
    if (!scheme.cluster) return range(Keys.DefaultHome, start, stop)
    // The union of the homes' parts by score: each part up to `stop` (all of it for indexes
    // from the end), then ZRANGE's index rules on the merged list.
    const upTo = start >= 0 && stop >= 0 ? stop : -1
    return scheme
      .eachHome("setRange", (home) => range(home, 0, upTo))
      .pipe(Effect.map((parts) => Replies.sliceLikeZrange(Replies.byScore(parts.flat()), start, stop)))
  },
  deleteFromSet: (set, raw) =>
    sendBytes(Integer)("deleteFromSet", "ZREM", keys.set(set, scheme.homeOf(raw)), toWire(raw)).pipe(
      Effect.map((removed) => removed > 0),
    ),
  clearSet: (set) =>
    scheme.eachHome("clearSet", (home) => send("clearSet", "UNLINK", keys.set(set, home))).pipe(Effect.asVoid),
})

/** Queues and stats as the admin reads and changes them, and the stats' counters. */
const queueAdmin: Operations<
  "incrementStats" | "stats" | "queues" | "queueSize" | "queueRange" | "deleteFromQueue" | "clearQueue"
> = ({ keys, redis, run, send, sendFor, count, strings, sendBytes, payloads }) => ({
  incrementStats: (processed, failed, day) =>
    processed === 0 && failed === 0
      ? Effect.void
      : Effect.suspend(() =>
          redis.eval(Scripts.stats)(
            [
              keys.stat("processed"),
              keys.stat("processed", day),
              keys.stat("failed"),
              keys.stat("failed", day),
              // ioredis may send this very command twice: the token makes it count once.
              keys.statsToken(Job.makeJid()),
            ],
            processed,
            failed,
            Store.EnqueueTokenSeconds,
          ),
        ).pipe(run("incrementStats", Integer), Effect.asVoid),
  stats: (day) =>
    sendFor(Replies.NullableStrings)("stats", "MGET", keys.stat("processed", day), keys.stat("failed", day)).pipe(
      Effect.map(([processed, failed]) => ({ processed: Number(processed ?? 0), failed: Number(failed ?? 0) })),
    ),
  queues: strings("queues", "SMEMBERS", keys.queues).pipe(Effect.map((names) => [...names].sort())),
  queueSize: (queue) => count("queueSize", "LLEN", keys.queue(queue)),
  queueRange: (queue, start, stop) => payloads("queueRange", "LRANGE", keys.queue(queue), start, stop),
  deleteFromQueue: (queue, raw) =>
    sendBytes(Integer)("deleteFromQueue", "LREM", keys.queue(queue), 1, toWire(raw)).pipe(
      Effect.map((removed) => removed > 0),
    ),
  clearQueue: (queue) =>
    Effect.andThen(send("clearQueue", "UNLINK", keys.queue(queue)), send("clearQueue", "SREM", keys.queues, queue)),
})

export const make: Operations<
  | "addScheduled"
  | "earliest"
  | "due"
  | "promote"
  | "setSize"
  | "setRange"
  | "deleteFromSet"
  | "clearSet"
  | "incrementStats"
  | "stats"
  | "queues"
  | "queueSize"
  | "queueRange"
  | "deleteFromQueue"
  | "clearQueue"
> = (context) => ({ ...scheduling(context), ...setAdmin(context), ...queueAdmin(context) })
