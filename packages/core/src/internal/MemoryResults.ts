/**
 * The in-memory store's job results (see `Store.ResultStoreShape`): each record with the time it
 * expires (from `Clock`, so `TestClock` expires them), and a PubSub of notices for waiters.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as Stream from "effect/Stream"
import type { ResultNotice, ResultStoreShape } from "../Store.ts"

/** Results kept in memory, and the notices of their writes. */
export const make = (notices: PubSub.PubSub<ResultNotice>): ResultStoreShape => {
  const records = new Map<string, { readonly record: string; readonly expiresAt: number }>()
  return {
    writeResult: (jid, record, ttlMillis) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          records.set(jid, { record, expiresAt: now + ttlMillis })
          PubSub.publishUnsafe(notices, { _tag: "Done", jid })
        }),
      ),
    readResult: (jid) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const kept = records.get(jid)
        if (kept === undefined) return undefined
        if (kept.expiresAt > now) return kept.record
        records.delete(jid)
        return undefined
      }),
    resultNotices: Effect.map(PubSub.subscribe(notices), Stream.fromSubscription),
  }
}
