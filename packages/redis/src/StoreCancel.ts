/**
 * The store's cancel requests (see `Store.CancelStoreShape`): `verk:cancelled`, a sorted set of
 * cancelled jids scored by when each marker expires (epoch milliseconds), shared by every node
 * (in the slot of the registries in the cluster key scheme), and a `cancel:<jid>` notification.
 * The marker is written before the notification goes out: a node that hears it, or starts later,
 * finds it in the set.
 */
import * as Effect from "effect/Effect"
import type { Operations } from "./StoreContext.ts"

export const make: Operations<"markCancelled" | "forgetCancelled" | "cancelledJids"> = ({
  keys,
  scheme,
  send,
  count,
  strings,
}) => ({
  markCancelled: (jid, now, until) =>
    send("markCancelled", "ZREMRANGEBYSCORE", keys.cancelled, "-inf", now).pipe(
      Effect.andThen(count("markCancelled", "ZADD", keys.cancelled, until, jid)),
      Effect.tap(() => scheme.publish("markCancelled", `cancel:${jid}`)),
      Effect.map((added) => added > 0),
    ),
  forgetCancelled: (jid) => Effect.asVoid(send("forgetCancelled", "ZREM", keys.cancelled, jid)),
  cancelledJids: (now) => strings("cancelledJids", "ZRANGEBYSCORE", keys.cancelled, `(${now}`, "+inf"),
})
