/**
 * The in-memory store's unique locks (see `Store.JobStoreShape.pushUnique`): each lock's holder,
 * when it lapses (read from `Clock`, so `TestClock` moves it) and, for a debounced job, the payload
 * waiting in `schedule`. Synchronous, so each operation is atomic, as the Redis store's scripts are.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { JobStoreShape, Notification } from "../Store.ts"
import * as Unique from "../Unique.ts"

interface Held {
  readonly jid: string
  expiresAt: number
  /** A debounced job's payload while it waits in `schedule`. */
  waiting: string | undefined
}

/** What the lock operations need of the rest of the store. */
export interface Deps {
  readonly push: (queue: string, payloads: ReadonlyArray<string>) => void
  readonly notify: (notice: Notification) => void
  readonly schedule: { add(member: string, score: number): void; remove(member: string): boolean }
}

/** The lock operations over their own locks and the store's queues and `schedule`. */
export const make = ({
  push,
  notify,
  schedule,
}: Deps): Pick<JobStoreShape, "pushUnique" | "releaseUnique" | "uniqueLock"> => {
  /** `<queue>\0<digest>` → lock, as the cluster key scheme keeps it in the queue's slot. */
  const locks = new Map<string, Held>()
  const keyOf = (queue: string, digest: string) => `${queue}\u0000${digest}`
  const live = (key: string, now: number): Held | undefined => {
    const held = locks.get(key)
    if (held === undefined || held.expiresAt > now) return held
    locks.delete(key)
    return undefined
  }
  const write = (request: Unique.Push, payload: string) => {
    if (request.at === undefined) {
      push(request.queue, [payload])
      notify({ _tag: "Work", queue: request.queue })
    } else {
      schedule.add(payload, request.at)
      notify({ _tag: "Scheduled" })
    }
  }
  return {
    pushUnique: (request) =>
      Effect.map(Clock.currentTimeMillis, (now): Unique.PushReply => {
        const key = keyOf(request.queue, request.digest)
        const held = live(key, now)
        if (held?.jid === request.jid) return { _tag: "Pushed" }
        if (held !== undefined) {
          if (!request.debounce) return { _tag: "Duplicate", jid: held.jid }
          if (held.waiting !== undefined && schedule.remove(held.waiting)) {
            const payload = Unique.withJid(request.payload, request.jid, held.jid)
            write(request, payload)
            held.waiting = payload
            held.expiresAt = now + request.ttlMillis
            return { _tag: "Replaced", jid: held.jid }
          }
          // The holder has left `schedule` (it runs): the new job takes the lock.
        }
        const waiting = request.debounce && request.at !== undefined ? request.payload : undefined
        locks.set(key, { jid: request.jid, expiresAt: now + request.ttlMillis, waiting })
        write(request, request.payload)
        return { _tag: "Pushed" }
      }),
    releaseUnique: (queue, digest, jid) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const key = keyOf(queue, digest)
        if (live(key, now)?.jid !== jid) return false
        return locks.delete(key)
      }),
    uniqueLock: (queue, digest) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const held = live(keyOf(queue, digest), now)
        return held === undefined ? undefined : { queue, digest, jid: held.jid, ttlMillis: held.expiresAt - now }
      }),
  }
}
