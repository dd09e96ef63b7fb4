/**
 * The store's limits (see `Store.LimitStoreShape` and Limits.ts in @verk/core). A rate limit is a
 * sorted set of its starts scored by Redis's own clock (TIME, read in the script, so every node
 * shares it), trimmed to its window by each start; a concurrency limit is a hash of its holders
 * (`<node>:<queue>:<token>` → node), and each node keeps a set of the limits it took slots of,
 * which its recovery walks (`releaseNodeHolds`). In the cluster key scheme each limit is in a slot
 * of its own and the node's set in the registries' slot, so the set is written before the hold.
 * A snooze is a retry aimed at `schedule` (`OutcomeWrite.reschedule`): the same move, the payload
 * unchanged.
 */
import { Store } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as OutcomeWrite from "./OutcomeWrite.ts"
import * as Replies from "./Replies.ts"
import * as Scripts from "./Scripts.ts"
import type { Operations } from "./StoreContext.ts"

/** The rate script's reply: admitted (1) or not, and the wait in milliseconds. */
const RateReply = Schema.Tuple([Schema.Number, Schema.Number])
/** SCAN's reply: the next cursor and a page of key names. */
const ScanReply = Schema.Tuple([Schema.String, Schema.Array(Schema.String)])
/** HGETALL's reply as text: an object, or an empty array for no hash. */
const Holders = Schema.Union([Schema.Record(Schema.String, Schema.String), Schema.Array(Schema.String)])

/** Keys per SCAN step of `limitUsage`. */
const ScanCount = 500

/** A limit's budget from the rest of its key (`Keys.limitRate`'s `own` undone for the cluster scheme). */
const budgetOf = (rest: string, cluster: boolean): string => {
  if (!cluster) return rest
  const whole = /^\{([^}]*)\}$/.exec(rest)
  if (whole !== null) return whole[1]!
  const named = /^\{[^}]*\}:(.*)$/.exec(rest)
  return named === null ? rest : named[1]!
}

export const make: Operations<
  "takeRate" | "acquireHold" | "releaseHold" | "releaseNodeHolds" | "holders" | "snooze" | "limitUsage"
> = (context) => {
  const { keys, wire, redis, run, send, sendFor, strings, count } = context
  return {
    takeRate: (key, limit, perMillis, member) =>
      redis
        .eval(Scripts.limitRate)(keys.limitRate(key), limit, perMillis, member)
        .pipe(
          run("takeRate", RateReply),
          Effect.map(([admitted, wait]) =>
            admitted === 1 ? ({ _tag: "Admitted" } as const) : ({ _tag: "Over", waitMillis: wait } as const),
          ),
        ),
    acquireHold: (key, limit, node, holder) =>
      send("acquireHold", "SADD", keys.nodeLimits(node), key).pipe(
        Effect.andThen(
          redis
            .eval(Scripts.limitAcquire)(keys.limitHolds(key), limit, holder, node)
            .pipe(run("acquireHold", Replies.Integer)),
        ),
        Effect.map((held) => held === 1),
      ),
    releaseHold: (key, holder) => Effect.asVoid(send("releaseHold", "HDEL", keys.limitHolds(key), holder)),
    releaseNodeHolds: (node) =>
      strings("releaseNodeHolds", "SMEMBERS", keys.nodeLimits(node)).pipe(
        Effect.flatMap((held) =>
          Effect.forEach(held, (key) =>
            redis
              .eval(Scripts.limitReleaseNode)(keys.limitHolds(key), node)
              .pipe(run("releaseNodeHolds", Replies.Integer)),
          ),
        ),
        Effect.tap(() => send("releaseNodeHolds", "DEL", keys.nodeLimits(node))),
        Effect.map((freed) => freed.reduce((sum, n) => sum + n, 0)),
      ),
    limitUsage: Effect.gen(function* () {
      if (wire.cluster) {
        return yield* new Store.StoreError({
          operation: "limitUsage",
          cause: new Error("listing limits needs one Redis: on a Redis Cluster the keys are spread over its shards"),
        })
      }
      const rate = keys.limitRate("")
      // The prefix both kinds share: `<namespace>:verk:limit:`.
      const prefix = rate.slice(0, rate.indexOf("rate:"))
      const found: Array<string> = []
      let cursor = "0"
      do {
        const [next, names] = yield* sendFor(ScanReply)(
          "limitUsage",
          "SCAN",
          cursor,
          "MATCH",
          `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`,
          "COUNT",
          ScanCount,
        )
        found.push(...names)
        cursor = next
      } while (cursor !== "0")
      const usage: Array<Store.LimitUsage> = []
      for (const key of new Set(found)) {
        const cluster = keys.scheme === "cluster"
        if (key.startsWith(`${prefix}rate:`)) {
          const used = yield* count("limitUsage", "ZCARD", key)
          const budget = budgetOf(key.slice(prefix.length + "rate:".length), cluster)
          if (used > 0) usage.push({ kind: "rate", budget, used, nodes: [] })
        } else if (key.startsWith(`${prefix}concurrency:`)) {
          const nodes = yield* strings("limitUsage", "HVALS", key)
          const budget = budgetOf(key.slice(prefix.length + "concurrency:".length), cluster)
          if (nodes.length > 0) usage.push({ kind: "concurrency", budget, used: nodes.length, nodes })
        }
      }
      return usage.sort((a, b) => a.kind.localeCompare(b.kind) || a.budget.localeCompare(b.budget))
    }),
    holders: (key) =>
      sendFor(Holders)("holders", "HGETALL", keys.limitHolds(key)).pipe(
        Effect.map((hash) =>
          Array.isArray(hash)
            ? Array.from({ length: hash.length / 2 }, (_, i) => ({ holder: hash[2 * i]!, node: hash[2 * i + 1]! }))
            : Object.entries(hash).map(([holder, node]) => ({ holder, node })),
        ),
      ),
    snooze: (queue, node, token, raw, at) =>
      OutcomeWrite.reschedule(context, "snooze", "schedule", { queue, node, token, payload: raw }, at),
  }
}
