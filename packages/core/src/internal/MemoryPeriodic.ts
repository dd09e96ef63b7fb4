/**
 * The in-memory store's periodic entries (see `Store.PeriodicStoreShape`): the registry of
 * declared entries and each entry's state, which expires `PeriodicStateSeconds` after its last
 * declaration or claim, as the Redis store's keys do. Synchronous, so each operation is atomic.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import {
  type Notification,
  type PeriodicKey,
  type PeriodicRecord,
  PeriodicStateSeconds,
  type PeriodicStoreShape,
} from "../Store.ts"

interface Mutable {
  lastTick: number | undefined
  lastEnqueued: number | undefined
  paused: boolean
  runRequested: number | undefined
  expiresAt: number
}

/** What the periodic operations need of the rest of the store: pushing to a queue, and notifying. */
export interface Deps {
  readonly push: (queue: string, payloads: ReadonlyArray<string>) => void
  readonly notify: (notice: Notification) => void
}

/** The periodic operations over their own state and the store's queues. */
export const make = ({ push, notify }: Deps): PeriodicStoreShape => {
  const registry = new Map<string, PeriodicRecord>()
  /** `<queue>\0<name>` → state, as the cluster key scheme keeps it in the queue's slot. */
  const states = new Map<string, Mutable>()
  const keyOf = ({ name, queue }: PeriodicKey) => `${queue}\u0000${name}`
  const live = (entry: PeriodicKey, now: number): Mutable | undefined => {
    const state = states.get(keyOf(entry))
    if (state === undefined || state.expiresAt > now) return state
    states.delete(keyOf(entry))
    return undefined
  }
  const touch = (entry: PeriodicKey, now: number): Mutable => {
    const state = live(entry, now) ?? {
      lastTick: undefined,
      lastEnqueued: undefined,
      paused: false,
      runRequested: undefined,
      expiresAt: 0,
    }
    state.expiresAt = now + PeriodicStateSeconds * 1000
    states.set(keyOf(entry), state)
    return state
  }
  const withNow = <A>(f: (now: number) => A) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => f(now)))
  return {
    declarePeriodic: (entries, now, staleMillis) =>
      Effect.sync(() => {
        for (const entry of entries) {
          registry.set(entry.name, { ...entry, seenAt: now })
          touch(entry, now)
        }
        for (const [name, record] of registry) if (record.seenAt < now - staleMillis) registry.delete(name)
      }),
    periodicRecords: Effect.sync(() => [...registry.values()].sort((a, b) => (a.name < b.name ? -1 : 1))),
    periodicStates: (entries) =>
      withNow((now) =>
        entries.map((entry) => {
          const state = live(entry, now)
          return {
            lastTick: state?.lastTick,
            lastEnqueued: state?.lastEnqueued,
            paused: state?.paused ?? false,
            runRequested: state?.runRequested,
          }
        }),
      ),
    claimPeriodic: (entry, claim, payload) =>
      withNow((now) => {
        const state = touch(entry, now)
        if (claim._tag === "Run") {
          if (state.runRequested !== claim.requestedAt) return "Taken"
          state.runRequested = undefined
        } else {
          if (state.lastTick !== undefined && state.lastTick >= claim.tick) return "Taken"
          state.lastTick = claim.tick
          if (state.paused) return "Paused"
          state.lastEnqueued = claim.tick
        }
        push(entry.queue, [payload])
        notify({ _tag: "Work", queue: entry.queue })
        return "Enqueued"
      }),
    setPeriodicPaused: (entry, paused) =>
      withNow((now) => {
        touch(entry, now).paused = paused
      }),
    requestPeriodicRun: (entry, at) =>
      withNow((now) => {
        touch(entry, now).runRequested = at
      }),
  }
}
