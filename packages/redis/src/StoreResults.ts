/**
 * The store's job results (see `Store.ResultStoreShape`): `verk:result:<jid>` (cluster scheme:
 * `verk:result:{<jid>}`, the slot of its jid), a string with a TTL, and `done:<jid>` on the
 * notification channel after it is written. Only workers that declare a `success` schema write
 * one, so other jobs cost nothing more. The write and the publish are two commands: a waiter that
 * missed the publish (a crash in between) reads the record when it starts or resubscribes.
 */
import { Store } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Operations } from "./StoreContext.ts"
import type * as Wire from "./Wire.ts"

/** `done:<jid>` and the subscription's return; every other message is another reader's. */
const parseNotice = (event: Wire.SubscriptionEvent): Result.Result<Store.ResultNotice, void> => {
  if (event._tag === "Resubscribed") return Result.succeed({ _tag: "Resubscribed" })
  return event.message.startsWith("done:") && event.message.length > 5
    ? Result.succeed({ _tag: "Done", jid: event.message.slice(5) })
    : Result.failVoid
}

export const make: Operations<"writeResult" | "readResult" | "resultNotices"> = ({
  keys,
  scheme,
  send,
  sendFor,
  durable,
}) => {
  const get = sendFor(Schema.NullOr(Schema.String))
  return {
    writeResult: (jid, record, ttlMillis) =>
      send("writeResult", "SET", keys.result(jid), record, "PX", Math.max(1, Math.ceil(ttlMillis))).pipe(
        durable("writeResult", keys.result(jid)),
        Effect.andThen(scheme.publish("writeResult", `done:${jid}`)),
      ),
    readResult: (jid) => Effect.map(get("readResult", "GET", keys.result(jid)), (value) => value ?? undefined),
    resultNotices: scheme.subscribe().pipe(
      Effect.mapError((cause) => new Store.StoreError({ operation: "resultNotices", cause })),
      Effect.map((events) => Stream.filterMap(events, parseNotice)),
    ),
  }
}
