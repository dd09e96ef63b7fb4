/**
 * Where a connection goes (one Redis, a primary found through Sentinel, or a Redis Cluster) and how
 * its address reads in messages, with the password masked.
 */
import type * as Duration from "effect/Duration"
import type * as Redis from "effect/persistence/Redis"
import * as Redacted from "effect/Redacted"
import type { RedisOptions as AllRedisOptions } from "ioredis"

/** ioredis options; reply mapping stays ioredis's default, which the replies expect. */
export type RedisOptions = Omit<AllRedisOptions, "replyMapping">

/** A Redis node's address, for Sentinel and Cluster. */
export interface HostPort {
  readonly host: string
  readonly port: number
}

/** Where Redis is (one server, Sentinel or Cluster), and how to talk to it. */
export interface ConnectionOptions {
  /**
   * The Redis to use (default `redis://127.0.0.1:6379`). With `sentinel` or `cluster`, only its
   * user name, password and database are used.
   */
  readonly url?: string | Redacted.Redacted<string> | undefined
  /** Find the primary through Redis Sentinel, and follow it when Sentinel fails it over. */
  readonly sentinel?: { readonly nodes: ReadonlyArray<HostPort>; readonly name: string } | undefined
  /** A Redis Cluster, found from these nodes (any of them). */
  readonly cluster?: { readonly nodes: ReadonlyArray<HostPort> } | undefined
  /** Extra ioredis options; the defaults below suit a job runner. */
  readonly ioredis?: RedisOptions | undefined
  /** The pool of dedicated connections for blocking commands (Effect's `Redis.reserve`). */
  readonly pool?: Redis.PoolOptions | undefined
  /**
   * How long a command waits for Redis while the connection is down (default 5 seconds; env
   * `VERK_REDIS_OFFLINE_TIMEOUT`): then it fails (a `StoreError`, reason `Unavailable`) and is
   * never sent. An enqueue to an unreachable Redis fails within this; the node's loops try again.
   * On a Cluster also how long it waits out a failover or its slot's migration (`SlotMoving`).
   */
  readonly offlineTimeout?: Duration.Input | undefined
}

/** The Redis used when `url` is absent. */
export const DefaultUrl = "redis://127.0.0.1:6379"

/** Where a connection goes, for messages: the URL (password masked), or the nodes. */
export const describeTarget = (options: ConnectionOptions): string => {
  if (options.cluster !== undefined) return `cluster nodes ${hostPorts(options.cluster.nodes)}`
  if (options.sentinel !== undefined)
    return `primary "${options.sentinel.name}" via Sentinel ${hostPorts(options.sentinel.nodes)}`
  return redactUrl(urlOf(options))
}

const hostPorts = (nodes: ReadonlyArray<HostPort>) => nodes.map(({ host, port }) => `${host}:${port}`).join(",")

export const urlOf = (options: ConnectionOptions): string =>
  options.url === undefined ? DefaultUrl : Redacted.isRedacted(options.url) ? Redacted.value(options.url) : options.url

/** The user name, password and database of a URL, for Sentinel and Cluster connections. */
export const credentials = (url: string): RedisOptions => {
  try {
    const parsed = new URL(url)
    const db = Number(parsed.pathname.slice(1))
    return {
      ...(parsed.username === "" ? {} : { username: decodeURIComponent(parsed.username) }),
      ...(parsed.password === "" ? {} : { password: decodeURIComponent(parsed.password) }),
      ...(Number.isInteger(db) && db > 0 ? { db } : {}),
    }
  } catch {
    return {}
  }
}

/** `url` with its password masked (`redis://user:***@host:6379`), safe to show in errors and logs. */
export const redactUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.password !== "") parsed.password = "***"
    return parsed.href
  } catch {
    return "(an unreadable Redis URL)"
  }
}

/** Reconnect after 50 ms, doubling up to 500 ms: Redis restarts are short, and a stalled worker is costly. */
export const retryStrategy = (attempt: number): number => Math.min(50 * 2 ** Math.min(attempt, 4), 500)

/** The ioredis options of every connection: ours, then the user's `ioredis` options over them. */
export const clientOptionsOf = (options: ConnectionOptions, url: string): RedisOptions => ({
  lazyConnect: true,
  enableAutoPipelining: true,
  retryStrategy,
  ...(options.sentinel === undefined && options.cluster === undefined ? {} : credentials(url)),
  ...(options.sentinel === undefined
    ? {}
    : {
        sentinels: options.sentinel.nodes.map(({ host, port }) => ({ host, port })),
        name: options.sentinel.name,
        // No `failoverDetector` (in ioredis 6.0.0 its switch-master handler can race a reconnect
        // and leave the client closed for good): SentinelFollow.ts follows the primary instead.
        // The first connect asks each sentinel once and fails at once when none answers; once
        // connected, the client waits for them (`open` in Connection.ts), holding commands meanwhile.
        sentinelRetryStrategy: () => null,
      }),
  ...options.ioredis,
})
