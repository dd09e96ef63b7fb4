/**
 * A connection while Redis is away: how long a command may wait for it, and what the log says.
 *
 * ioredis holds a command issued while it reconnects (its offline queue, where a command cut off
 * by a disconnect also goes to be sent again) and gives up only after `maxRetriesPerRequest`
 * reconnect attempts: about 9 s with our backoff when connections are refused, minutes when each
 * attempt waits out a connect timeout. `failWhenOffline` bounds that wait: a command still waiting
 * after `offlineTimeout` is taken out of the queue, so it is never sent, and fails (a `StoreError`
 * with reason `Unavailable` to the store's callers). A command cut off after it was written may
 * have run: failing it is what a lost reply is (an enqueue sent again with a new token may push
 * twice), as it was when ioredis gave up.
 *
 * `reportOutages` logs a connection's loss once and its return once, not every failed attempt.
 */
import type { Cluster, Command, Redis } from "ioredis"
import * as IoredisInternals from "./IoredisInternals.ts"

/** The default `offlineTimeout`: longer than a Sentinel failover or a Redis restart (2–4 s). */
export const DefaultOfflineTimeoutMillis = 5_000

/** A command failed because it waited longer than `offlineTimeout` for a connection. */
export class OfflineTimeout extends Error {
  readonly target: string
  readonly waitedMillis: number
  constructor(target: string, waitedMillis: number) {
    super(
      `Redis at ${target} unreachable: no connection for ${waitedMillis} ms (offlineTimeout); the command was not sent`,
    )
    this.name = "OfflineTimeout"
    this.target = target
    this.waitedMillis = waitedMillis
  }
}

/**
 * Fails the commands that wait for a connection longer than `timeoutMillis`, looking at the offline
 * queue a few times a second while the client is not ready. Returns the function that stops it.
 */
export const failWhenOffline = (client: Redis | Cluster, target: string, timeoutMillis: number): (() => void) => {
  const firstSeen = new WeakMap<Command, number>()
  const every = Math.max(10, Math.min(250, Math.floor(timeoutMillis / 4)))
  let timer: ReturnType<typeof setInterval> | undefined
  const sweep = () => {
    if (client.status === "ready") return
    const now = Date.now()
    const queue = IoredisInternals.offlineQueue(client)
    for (let left = queue.length; left > 0; left--) {
      const item = queue.shift()
      if (item === undefined) break
      const seen = firstSeen.get(item.command)
      if (seen === undefined) firstSeen.set(item.command, now)
      if (seen !== undefined && now - seen >= timeoutMillis) {
        item.command.reject(new OfflineTimeout(target, now - seen))
      } else queue.push(item)
    }
  }
  const start = () => {
    if (timer !== undefined) return
    timer = setInterval(sweep, every)
    timer.unref()
  }
  const stop = () => {
    if (timer !== undefined) clearInterval(timer)
    timer = undefined
  }
  // A command issued before the first "close" of an outage is in the queue by the first sweep.
  client.on("close", start)
  client.on("ready", stop)
  return () => {
    client.off("close", start)
    client.off("ready", stop)
    stop()
  }
}

/**
 * Logs a connection's errors as outages: the first error once the connection was ready (`lost`),
 * nothing for the failed attempts after it, and one line when it is ready again (`back`).
 */
export const reportOutages = (
  client: Redis | Cluster,
  log: { readonly lost: (message: string) => void; readonly back: (message: string) => void },
  role: string,
): ((cause: Error) => void) => {
  let downSince: number | undefined
  let attempts = 0
  client.on("ready", () => {
    if (downSince === undefined) return
    const seconds = ((Date.now() - downSince) / 1000).toFixed(1)
    log.back(
      `Redis ${role} connection is back after ${seconds} s (${attempts} failed ${attempts === 1 ? "attempt" : "attempts"})`,
    )
    downSince = undefined
    attempts = 0
  })
  return (cause) => {
    attempts++
    if (downSince !== undefined) return
    downSince = Date.now()
    log.lost(`Redis ${role} connection lost: ${cause.message}; reconnecting (quietly until it is back)`)
  }
}
