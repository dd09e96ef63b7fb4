/**
 * Following the primary Sentinel names. A primary that stalls (a pause, a frozen VM, a cut network)
 * is failed over while its connections stay open; when it comes back it still says it is the
 * primary, and accepts writes, until the sentinels demote it (up to 10 s later), and those writes
 * are then thrown away. So the follower subscribes to `+switch-master` on every sentinel and keeps
 * the primary they announced last (confirmed by the highest `config-epoch` among them): a
 * connection to another server is dropped at once (its unanswered commands are sent again on the
 * next connection), and a connection is only ever made ready on the announced primary, with the
 * role `master` (ioredis's ready check, which runs on every reconnect before anything queued is
 * sent).
 */
import { isIP } from "node:net"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type RedisOptions as AllRedisOptions, Redis as IORedis } from "ioredis"
import * as IoredisInternals from "./IoredisInternals.ts"

/** ioredis options, reply mapping left at its default. */
type RedisOptions = Omit<AllRedisOptions, "replyMapping">

/** A server's address, as Sentinel gives it. */
export interface Address {
  readonly host: string
  readonly port: number
}

/** What to follow and how to reach the sentinels. */
export interface FollowOptions {
  readonly nodes: ReadonlyArray<Address>
  /** The master name the sentinels monitor. */
  readonly name: string
  /** The client's ioredis options: sentinel credentials, TLS and `natMap` are taken from them. */
  readonly clientOptions: RedisOptions
  /** Where to say that Sentinel named another primary than the one known before. */
  readonly logWarning: (message: string) => void
}

/** A follower of the primary, shared by every connection of one store. */
export interface Follower {
  /** Makes `client` leave a server Sentinel no longer names, and refuse to be ready on one. */
  readonly follow: (client: IORedis) => void
  /** The primary announced last, once known. */
  readonly primary: () => Address | undefined
  /** Resolves once every sentinel that answered is subscribed (a dead one is retried in the background). */
  readonly started: Promise<void>
  readonly close: () => void
}

const Channel = "+switch-master"

/** A `+switch-master` message: `<name> <old ip> <old port> <new ip> <new port>`. */
export const parseSwitch = (message: string): { readonly name: string; readonly to: Address } | undefined => {
  const parts = message.split(" ")
  const port = Number(parts[4])
  return parts.length === 5 && Number.isInteger(port) ? { name: parts[0]!, to: { host: parts[3]!, port } } : undefined
}

/** SENTINEL MASTER's flat [field, value, ...] reply: the address and its config epoch. */
const parseMaster = (reply: unknown): { readonly address: Address; readonly epoch: number } | undefined => {
  if (!Array.isArray(reply)) return undefined
  const fields = new Map<string, string>()
  for (let n = 0; n + 1 < reply.length; n += 2) fields.set(String(reply[n]), String(reply[n + 1]))
  const port = Number(fields.get("port"))
  const epoch = Number(fields.get("config-epoch") ?? 0)
  const host = fields.get("ip")
  return host === undefined || !Number.isInteger(port) ? undefined : { address: { host, port }, epoch }
}

/** Reconnect to a sentinel after 100 ms, doubling up to 1 s. */
const sentinelRetry = (attempt: number): number => Math.min(100 * 2 ** Math.min(attempt, 4), 1_000)

export const make = (options: FollowOptions): Follower => {
  const { clientOptions } = options
  const sentinelOptions: RedisOptions = { enableReadyCheck: false }
  if (clientOptions.sentinelUsername !== undefined) sentinelOptions.username = clientOptions.sentinelUsername
  if (clientOptions.sentinelPassword !== undefined) sentinelOptions.password = clientOptions.sentinelPassword
  if (clientOptions.sentinelTLS !== undefined) sentinelOptions.tls = clientOptions.sentinelTLS
  let closed = false
  let current: Address | undefined
  /** Bumped by each announcement: a SENTINEL MASTER round begun before one is stale. */
  let generation = 0
  const followed = new Set<IORedis>()

  /** Where the client connects for `address` (the client's `natMap`, as ioredis applies it). */
  const translated = (address: Address): Address => {
    const natMap = clientOptions.natMap
    const key = `${address.host}:${address.port}`
    const mapped = typeof natMap === "function" ? natMap(key) : natMap?.[key]
    return mapped?.host !== undefined && mapped.port !== undefined ? { host: mapped.host, port: mapped.port } : address
  }

  /** Whether `client`'s socket goes to `address` (by port alone for a host name: the socket knows only IPs). */
  const connectedTo = (client: IORedis, address: Address): boolean => {
    const target = translated(address)
    const remoteHost = client.stream?.remoteAddress?.replace(/^::ffff:/, "")
    const remotePort = client.stream?.remotePort
    if (remotePort === undefined) return false
    return remotePort === target.port && (isIP(target.host) === 0 || remoteHost === target.host)
  }

  const announce = (address: Address): void => {
    const from = current
    if (closed || (from !== undefined && from.host === address.host && from.port === address.port)) return
    current = address
    if (from !== undefined)
      options.logWarning(
        `Sentinel moved primary "${options.name}" from ${from.host}:${from.port} to ${address.host}:${address.port}; connections follow`,
      )
    // A connection still on another server leaves it now; ioredis connects again through the
    // sentinels. Destroyed, not ended: a stalled server would hold a polite close for seconds.
    for (const client of followed) {
      if ((client.status === "ready" || client.status === "connect") && !connectedTo(client, address))
        client.stream.destroy()
    }
  }

  /** Asks every sentinel; the reply with the highest config epoch names the primary. */
  const refresh = (): void => {
    const started = generation
    void Promise.all(
      options.nodes.map(async ({ host, port }) => {
        const conn = new IORedis({
          ...sentinelOptions,
          host,
          port,
          lazyConnect: true,
          retryStrategy: () => null,
          maxRetriesPerRequest: 0,
          connectTimeout: 1_000,
          commandTimeout: 1_000,
        })
        conn.on("error", () => {})
        try {
          await conn.connect()
          return parseMaster(await conn.call("SENTINEL", "MASTER", options.name))
        } catch {
          return undefined
        } finally {
          conn.disconnect()
        }
      }),
    ).then((replies) => {
      if (generation !== started) return
      const newest = replies.reduce<{ address: Address; epoch: number } | undefined>(
        (best, reply) => (reply !== undefined && (best === undefined || reply.epoch > best.epoch) ? reply : best),
        undefined,
      )
      if (newest !== undefined) announce(newest.address)
    })
  }

  const subscribers = options.nodes.map(({ host, port }) => {
    // Never gives up: a sentinel down at the start is subscribed to once it answers.
    const subscriber = new IORedis({
      ...sentinelOptions,
      host,
      port,
      lazyConnect: true,
      retryStrategy: sentinelRetry,
      maxRetriesPerRequest: null,
    })
    subscriber.on("message", (channel: string, message: string) => {
      const parsed = channel === Channel ? parseSwitch(message) : undefined
      if (parsed === undefined || parsed.name !== options.name) return
      generation++
      announce(parsed.to)
      // Confirmed by the epochs (a message from a sentinel of an older failover may come last).
      refresh()
    })
    // Announcements missed while this sentinel was away: ask the sentinels again once it is back.
    subscriber.on("ready", refresh)
    // Subscribed once this sentinel answered, or given up on for now once its first connect failed.
    const subscribed = new Promise<void>((resolve) => {
      subscriber.once("error", () => resolve())
      subscriber.subscribe(Channel).then(
        () => resolve(),
        () => resolve(),
      )
    })
    subscriber.on("error", () => {})
    return { subscriber, subscribed }
  })
  const started = Promise.all(subscribers.map(({ subscribed }) => subscribed)).then(() => undefined)

  return {
    follow: (client) => {
      followed.add(client)
      client.on("end", () => followed.delete(client))
      client.on("connecting", () => followed.add(client))
      IoredisInternals.guardReadyCheck(client, (info, check) => {
        if (current === undefined || connectedTo(client, current)) return check(info)
        // A sentinel that has not heard of the failover yet sent us to the old primary: refuse it as
        // ioredis refuses a replica (it then asks the next sentinel), and ask the sentinels again.
        refresh()
        check({ ...info, role: "not the announced primary" })
        return false
      })
    },
    primary: () => current,
    started,
    close: () => {
      closed = true
      for (const { subscriber } of subscribers) subscriber.disconnect()
      followed.clear()
    },
  }
}

/** The follower of `sentinel`'s primary, closed with the scope; none without Sentinel. */
export const scoped = (
  sentinel: { readonly nodes: ReadonlyArray<Address>; readonly name: string } | undefined,
  clientOptions: RedisOptions,
  logWarning: (message: string) => void,
): Effect.Effect<Follower | undefined, never, Scope.Scope> =>
  sentinel === undefined
    ? Effect.succeed(undefined)
    : Effect.acquireRelease(
        Effect.sync(() => make({ ...sentinel, clientOptions, logWarning })),
        (follower) => Effect.sync(follower.close),
      )
