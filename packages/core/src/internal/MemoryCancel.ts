/**
 * The in-memory store's cancel requests (see `Store.CancelStoreShape`): jid → when its marker
 * expires, and a `Cancel` notification to every node sharing the store.
 */
import * as Effect from "effect/Effect"
import type { CancelStoreShape, Notification } from "../Store.ts"

/** The cancel role over a store's notifications; the markers are this store's own. */
export const make = (state: { readonly notify: (notice: Notification) => void }): CancelStoreShape => {
  const markers = new Map<string, number>()
  const forget = (now: number) => {
    for (const [jid, until] of markers) if (until <= now) markers.delete(jid)
  }
  return {
    markCancelled: (jid, now, until) =>
      Effect.sync(() => {
        forget(now)
        const fresh = !markers.has(jid)
        markers.set(jid, Math.max(until, markers.get(jid) ?? 0))
        state.notify({ _tag: "Cancel", jid })
        return fresh
      }),
    forgetCancelled: (jid) =>
      Effect.sync(() => {
        markers.delete(jid)
      }),
    cancelledJids: (now) =>
      Effect.sync(() => {
        forget(now)
        return [...markers.keys()]
      }),
  }
}
