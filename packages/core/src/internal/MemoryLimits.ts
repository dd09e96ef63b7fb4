/**
 * The in-memory store's limits (see `Store.LimitStoreShape`): per rate limit the start times of
 * its window (a sliding log, by `Clock`, so TestClock drives it), per concurrency limit its
 * holders, per node the limits it holds, and the snooze of a job into `schedule`. Each operation
 * is one synchronous step, so atomic as the Redis store's scripts are.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { Hold, LimitStoreShape, LimitUsage, Notification } from "../Store.ts"

/** What the limits share with the rest of the store: in-progress entries, `schedule`, notifications. */
export interface Shared {
  readonly notify: (notice: Notification) => void
  readonly inProgressOf: (queue: string, node: string) => Map<string, string>
  readonly schedule: { readonly add: (member: string, score: number) => void }
}

export const make = (shared: Shared): LimitStoreShape => {
  /** key → start times (epoch millis), oldest first. */
  const windows = new Map<string, Array<number>>()
  /** key → its window, as its last start gave it. */
  const spans = new Map<string, number>()
  /** key → holder → node. */
  const holds = new Map<string, Map<string, string>>()
  /** node → keys it may hold. */
  const indexes = new Map<string, Set<string>>()
  return {
    takeRate: (key, limit, perMillis) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const starts = (windows.get(key) ?? []).filter((at) => at > now - perMillis)
        windows.set(key, starts)
        spans.set(key, perMillis)
        if (starts.length < limit) {
          starts.push(now)
          return { _tag: "Admitted" } as const
        }
        return { _tag: "Over", waitMillis: Math.max(0, starts[0]! + perMillis - now) } as const
      }),
    acquireHold: (key, limit, node, holder) =>
      Effect.sync(() => {
        indexes.set(node, (indexes.get(node) ?? new Set()).add(key))
        let holders = holds.get(key)
        if (holders === undefined) {
          holders = new Map()
          holds.set(key, holders)
        }
        if (holders.has(holder)) return true
        if (holders.size >= limit) return false
        holders.set(holder, node)
        return true
      }),
    releaseHold: (key, holder) =>
      Effect.sync(() => {
        holds.get(key)?.delete(holder)
      }),
    releaseNodeHolds: (node) =>
      Effect.sync(() => {
        let freed = 0
        for (const key of indexes.get(node) ?? []) {
          const holders = holds.get(key)
          if (holders === undefined) continue
          for (const [holder, of] of holders) {
            if (of !== node) continue
            holders.delete(holder)
            freed++
          }
        }
        indexes.delete(node)
        return freed
      }),
    limitUsage: Effect.map(Clock.currentTimeMillis, (now) => {
      const usage: Array<LimitUsage> = []
      for (const [budget, starts] of windows) {
        const used = starts.filter((at) => at > now - (spans.get(budget) ?? 0)).length
        if (used > 0) usage.push({ kind: "rate", budget, used, nodes: [] })
      }
      for (const [budget, holders] of holds) {
        if (holders.size > 0)
          usage.push({ kind: "concurrency", budget, used: holders.size, nodes: [...holders.values()] })
      }
      return usage.sort((a, b) => a.kind.localeCompare(b.kind) || a.budget.localeCompare(b.budget))
    }),
    holders: (key) =>
      Effect.sync((): ReadonlyArray<Hold> => [...(holds.get(key) ?? [])].map(([holder, node]) => ({ holder, node }))),
    snooze: (queue, node, token, raw, at) =>
      Effect.sync(() => {
        shared.schedule.add(raw, at)
        shared.inProgressOf(queue, node).delete(token)
        shared.notify({ _tag: "Scheduled" })
      }),
  }
}
