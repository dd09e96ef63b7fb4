/**
 * The store's notifications (`work:<queue>`, `pause:<queue>`, `scheduled`) and paused queues. Who
 * publishes, and on which channel, is the key scheme's decision (see KeyScheme.ts).
 */
import { Store } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import type { Operations } from "./StoreContext.ts"
import type * as Wire from "./Wire.ts"

/** Notification messages: `work:<queue>`, `pause:<queue>`, `cancel:<jid>`, `scheduled`; and the subscription's return. */
const parseNotification = (event: Wire.SubscriptionEvent): Result.Result<Store.Notification, string> => {
  if (event._tag === "Resubscribed") return Result.succeed({ _tag: "Resubscribed" })
  const message = event.message
  if (message === "scheduled") return Result.succeed({ _tag: "Scheduled" })
  const colon = message.indexOf(":")
  const kind = message.slice(0, colon)
  const queue = message.slice(colon + 1)
  if (colon > 0 && queue !== "") {
    if (kind === "work") return Result.succeed({ _tag: "Work", queue })
    if (kind === "pause") return Result.succeed({ _tag: "Pause", queue })
    if (kind === "cancel") return Result.succeed({ _tag: "Cancel", jid: queue })
  }
  return Result.fail(message)
}

export const make: Operations<"notifications" | "setPaused" | "pausedQueues"> = ({ keys, scheme, send, strings }) => ({
  notifications: Stream.unwrap(scheme.subscribe()).pipe(
    Stream.mapError((cause) => new Store.StoreError({ operation: "notifications", cause })),
    Stream.filterMap(parseNotification),
  ),
  setPaused: (queue, paused) => {
    const command = paused ? "SADD" : "SREM"
    // The cluster scheme: the queue's own set first, the one its fetches read (fetch.lua).
    const own = keys.pausedOf(queue)
    const first = own === keys.paused ? Effect.void : send("setPaused", command, own, queue)
    return first.pipe(
      Effect.andThen(send("setPaused", command, keys.paused, queue)),
      Effect.andThen(scheme.publish("setPaused", `pause:${queue}`)),
      Effect.asVoid,
    )
  },
  pausedQueues: strings("pausedQueues", "SMEMBERS", keys.paused).pipe(Effect.map((names) => new Set(names))),
})
