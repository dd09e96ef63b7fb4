/**
 * The ioredis edge: provides Effect's client-agnostic `Redis` service (effect/persistence/Redis) on
 * one ioredis command client, with auto-pipelining, reconnection with capped backoff, and
 * duplicated connections for pub/sub and for the blocking commands behind `Redis.reserve`; and our
 * `Wire` service on the same connections (payloads as bytes, subscriptions that say when they are
 * back after a reconnect, `WAIT`). The client is one Redis, a primary found through Sentinel, or a
 * Redis Cluster. This is the only place in the library where Promises appear.
 */
import { Buffer } from "node:buffer"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redis from "effect/persistence/Redis"
import type * as Scope from "effect/Scope"
import { Cluster, Command, Redis as IORedis } from "ioredis"
import * as ClusterRedirects from "./ClusterRedirects.ts"
import {
  type ConnectionOptions,
  clientOptionsOf,
  describeTarget,
  type RedisOptions,
  retryStrategy,
  urlOf,
} from "./ConnectionOptions.ts"
import * as IoredisInternals from "./IoredisInternals.ts"
import * as Mailbox from "./Mailbox.ts"
import * as Offline from "./Offline.ts"
import * as SentinelFollow from "./SentinelFollow.ts"
import * as Slots from "./Slots.ts"
import * as Wire from "./Wire.ts"

export { type ConnectionOptions, DefaultUrl, type HostPort, redactUrl } from "./ConnectionOptions.ts"

/** A command client: one Redis (maybe found through Sentinel) or a Cluster. */
type Client = IORedis | Cluster

const toError = (cause: unknown) => new Redis.RedisError({ cause })

/** A connection could not be opened: where to (password masked) and the last socket error. */
export class ConnectionFailed extends Data.TaggedError("ConnectionFailed")<{
  readonly url: string
  readonly cause: unknown
}> {
  override get message() {
    const reason = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `cannot connect to Redis at ${this.url}: ${reason}`
  }
}

/** Effect's `Redis` service and our `Wire` (bytes, resubscriptions) on the same connections. */
export const makeServices = Effect.fnUntraced(function* (options: ConnectionOptions) {
  const url = urlOf(options)
  const target = describeTarget(options)
  const clientOptions = clientOptionsOf(options, url)
  const runFork = Effect.runForkWith(yield* Effect.context<never>())
  const follower = yield* SentinelFollow.scoped(options.sentinel, clientOptions, (line) =>
    runFork(Effect.logWarning(line)),
  )
  const offlineTimeoutMillis =
    options.offlineTimeout === undefined
      ? Offline.DefaultOfflineTimeoutMillis
      : Duration.toMillis(Duration.fromInputUnsafe(options.offlineTimeout))
  const outageLog = {
    lost: (message: string) => runFork(Effect.logWarning(message)),
    back: (message: string) => runFork(Effect.logInfo(message)),
  }
  /** Clients being closed by us: their end is not a reason to connect again. */
  const closing = new WeakSet<Client>()
  /** What stops a client's offline-queue watch (Offline.failWhenOffline). */
  const unwatch = new WeakMap<Client, () => void>()
  const close = (client: Client, politely = false): Promise<void> => {
    closing.add(client)
    unwatch.get(client)?.()
    return politely
      ? client.quit().then(
          () => undefined,
          () => client.disconnect(),
        )
      : Promise.resolve(client.disconnect())
  }

  const create = (extra?: RedisOptions): Client => {
    const merged: RedisOptions = { ...clientOptions, ...extra }
    if (options.cluster === undefined) {
      return options.sentinel === undefined ? new IORedis(url, merged) : new IORedis(merged)
    }
    const { enableAutoPipelining = true, retryStrategy: _perNode, ...redisOptions } = merged
    return new Cluster(
      options.cluster.nodes.map(({ host, port }) => ({ host, port })),
      {
        redisOptions,
        lazyConnect: true,
        enableAutoPipelining,
        clusterRetryStrategy: (attempt) => retryStrategy(attempt),
        // After a primary dies its slots answer again once a replica took over: keep asking.
        retryDelayOnClusterDown: 100,
        retryDelayOnTryAgain: 100,
        retryDelayOnMoved: 0,
      },
    )
  }

  // A connection that cannot be opened fails at once with the socket's error (ioredis would go on
  // retrying in the background): a worker process then exits for its supervisor to restart it, and
  // a one-shot command reports the error. Once open, errors are logged and ioredis reconnects.
  // Interruptible: a start stopped while it connects (SIGTERM) closes the half-open client.
  const open = (role: string, extra?: RedisOptions) =>
    Effect.tryPromise({
      try: async (signal) => {
        const client = create(extra)
        if (client instanceof IORedis) follower?.follow(client)
        const abort = () => void close(client)
        signal.addEventListener("abort", abort, { once: true })
        let opened = false
        let lastError: unknown
        // Once open, an outage is one line when it starts and one when it ends (Offline.ts).
        const reportError = Offline.reportOutages(client, outageLog, role)
        client.on("error", (cause: Error) => {
          if (opened) reportError(cause)
          else lastError = cause
        })
        if (role === "command") unwatch.set(client, Offline.failWhenOffline(client, target, offlineTimeoutMillis))
        try {
          await client.connect()
          opened = true
          // ioredis reads its connector's options from this object at every reconnect.
          if (client instanceof IORedis && client.options.sentinels !== undefined)
            client.options.sentinelRetryStrategy = retryStrategy
        } catch (cause) {
          void close(client)
          throw new ConnectionFailed({ url: target, cause: lastError ?? cause })
        } finally {
          signal.removeEventListener("abort", abort)
        }
        // A client that reconnects by itself should never end before we close it; should ioredis
        // give up anyway (it has, around a Sentinel failover), start it again.
        if (client instanceof IORedis && extra?.retryStrategy === undefined) {
          client.on("end", () => {
            if (closing.has(client)) return
            runFork(Effect.logWarning(`Redis ${role} connection ended; connecting again`))
            setTimeout(() => {
              if (!closing.has(client)) client.connect().catch(() => {})
            }, 500)
          })
        }
        return client
      },
      catch: (cause) =>
        toError(cause instanceof ConnectionFailed ? cause : new ConnectionFailed({ url: target, cause })),
    })

  const sendWith =
    (client: Client) =>
    <A = unknown>(command: string, ...args: ReadonlyArray<string>): Effect.Effect<A, Redis.RedisError> =>
      Effect.tryPromise({
        try: () =>
          (onCluster(client, command)
            ? ClusterRedirects.send(client, command, args, "utf8", offlineTimeoutMillis)
            : idle(client) && command.toUpperCase() !== "SCRIPT"
              ? sendNow(client, command, args, "utf8")
              : untilRun(client, () => call(client, command, args))) as Promise<A>,
        catch: toError,
      })

  const client = yield* acquireInterruptibly(open("command"), (client) => close(client, true))

  const redis = yield* Redis.make({
    send: sendWith(client),
    // Reserved connections carry blocking commands: they never reconnect by themselves, so a
    // dropped one fails its command and leaves the pool.
    connect: Effect.map(open("blocking", { retryStrategy: () => null, enableAutoPipelining: false }), (conn) => ({
      send: sendWith(conn),
      close: Effect.promise(() => close(conn)),
    })),
    pool: options.pool,
    subscribe: Effect.fnUntraced(function* (channel, onMessage) {
      // ioredis re-subscribes by itself after a reconnect.
      const subscriber = yield* acquireInterruptibly(open("subscriber"), close)
      subscriber.on("message", (from: string, message: string) => onMessage({ channel: from, message }))
      yield* Effect.tryPromise({ try: () => subscriber.subscribe(channel), catch: toError })
      return Effect.never
    }),
  })

  const wire = makeWire(client, clientOptions, offlineTimeoutMillis, open, close, (message) =>
    runFork(Effect.logWarning(message)),
  )

  return Context.make(Redis.Redis, redis).pipe(Context.add(Wire.Wire, wire))
})

/**
 * `acquire` with `release` as the scope's finalizer once it succeeded, but interruptible while it
 * runs (unlike `Effect.acquireRelease`): opening a connection to a Redis that does not answer must
 * not hold up a shutdown. `open` closes what it opened when interrupted.
 */
const acquireInterruptibly = <A, E, R>(
  acquire: Effect.Effect<A, E, R>,
  release: (value: A) => Promise<void>,
): Effect.Effect<A, E, R | Scope.Scope> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.tap(restore(acquire), (value) => Effect.addFinalizer(() => Effect.promise(() => release(value)))),
  )

/**
 * Our `Wire` on the command connection `client`; its subscriptions open connections of their own
 * (`open`), or roam a Cluster's nodes.
 */
const makeWire = (
  client: Client,
  clientOptions: RedisOptions,
  offlineTimeoutMillis: number,
  open: (role: string, extra?: RedisOptions) => Effect.Effect<Client, Redis.RedisError>,
  close: (client: Client) => Promise<void>,
  logWarning: (message: string) => void,
): Wire.WireShape => {
  const waits = sharedWaits()
  const sessions = connectionSessions()
  return {
    // Bulk replies stay bytes; Buffer arguments are sent as they are.
    send: (command, args) =>
      Effect.tryPromise({
        try: () =>
          onCluster(client, command)
            ? ClusterRedirects.send(client, command, args.map(toWireArg), null, offlineTimeoutMillis)
            : idle(client) && command !== "SCRIPT"
              ? sendNow(client, command, args.map(toWireArg), null)
              : untilRun(client, () => sendBuffer(client, command, args.map(toWireArg))),
        catch: toError,
      }),
    writer: (key) =>
      Effect.tryPromise({
        try: async () => {
          const connection = await nodeServing(client, key)
          return { key, connection, session: sessions.of(connection) }
        },
        catch: toError,
      }),
    waitForReplicas: (writer, replicas, timeoutMillis) =>
      Effect.tryPromise({
        try: async () => {
          const connection = await nodeServing(client, writer.key)
          const current = () => connection === writer.connection && sessions.of(connection) === writer.session
          if (!current()) return 0
          const acknowledged = await waits.wait(connection, replicas, timeoutMillis)
          // ioredis resends a command cut off by a reconnect: a reply from a new session counts nothing.
          return current() ? acknowledged : 0
        },
        catch: toError,
      }),
    cluster: client instanceof Cluster,
    subscribe: Effect.fnUntraced(function* (channel, options) {
      const sharded = options?.sharded === true
      const events = Mailbox.make<Wire.SubscriptionEvent>()
      yield* Effect.addFinalizer(() => Effect.sync(events.end))
      const onMessage = (from: string, message: string) => {
        events.offer({ _tag: "Message", channel: from, message })
      }
      if (client instanceof Cluster) {
        yield* Effect.acquireRelease(
          Effect.sync(() =>
            roamingSubscriber(client, channel, sharded, clientOptions, {
              onMessage,
              onResubscribed: () => events.offer({ _tag: "Resubscribed" }),
            }),
          ),
          (subscriber) => Effect.sync(() => subscriber.close()),
        ).pipe(Effect.tap((subscriber) => Effect.tryPromise({ try: () => subscriber.started, catch: toError })))
        return events.stream
      }
      // Re-subscribed here rather than by ioredis, so that `Resubscribed` follows Redis's reply.
      const subscriber = yield* acquireInterruptibly(open("subscriber", { autoResubscribe: false }), close)
      subscriber.on(sharded ? "smessage" : "message", onMessage)
      const subscribe = () => (sharded ? subscriber.ssubscribe(channel) : subscriber.subscribe(channel))
      yield* Effect.tryPromise({ try: subscribe, catch: toError })
      // "ready" comes after each reconnect (the first one came before `open` returned). A subscribe
      // that fails here is tried again at the next reconnect.
      subscriber.on("ready", () => {
        subscribe().then(
          () => events.offer({ _tag: "Resubscribed" }),
          (cause: unknown) => logWarning(`Could not subscribe again to ${channel}: ${String(cause)}`),
        )
      })
      return events.stream
    }),
  }
}

/**
 * `WAIT` shared by the writes of one turn of the event loop on one connection: a WAIT covers every
 * write sent before it on its connection, and each one blocks the connection until replicas
 * answer, so one per turn rather than one per write.
 */
const sharedWaits = () => {
  const pending = new Map<IORedis, Map<string, Promise<number>>>()
  return {
    wait: (node: IORedis, replicas: number, timeoutMillis: number): Promise<number> => {
      const key = `${replicas}/${timeoutMillis}`
      const byArgs = pending.get(node) ?? new Map<string, Promise<number>>()
      pending.set(node, byArgs)
      const joined = byArgs.get(key)
      if (joined !== undefined) return joined
      const started = new Promise<number>((resolve, reject) =>
        setImmediate(() => {
          byArgs.delete(key)
          if (byArgs.size === 0) pending.delete(node)
          ;(node.call("WAIT", replicas, timeoutMillis) as Promise<number>).then(resolve, reject)
        }),
      )
      byArgs.set(key, started)
      return started
    },
  }
}

/** Each connection's session: how many times it has closed (a reconnect starts the next). */
const connectionSessions = () => {
  const counts = new WeakMap<IORedis, number>()
  return {
    of: (connection: IORedis): number => {
      const count = counts.get(connection)
      if (count !== undefined) return count
      counts.set(connection, 0)
      connection.on("close", () => counts.set(connection, (counts.get(connection) ?? 0) + 1))
      return 0
    },
  }
}

/**
 * How long Cluster operations wait out a failover (which takes 1–3 s): another try every 100 ms,
 * for about 5 s, after asking the Cluster for its slots again.
 */
const FailoverTries = 50
const betweenFailoverTries = (cluster: Cluster): Promise<void> => {
  cluster.refreshSlotsCache()
  return new Promise((resolve) => setTimeout(resolve, 100))
}

/** Commands on a Cluster go out one by one (ClusterRedirects.ts); `SCRIPT` goes to every primary (`call`). */
const onCluster = (client: Client, command: string): client is Cluster =>
  client instanceof Cluster && command.toUpperCase() !== "SCRIPT"

/** A Cluster's reply for a command it did not run (a slot moved or has no primary yet). */
const NotRun = /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN)\b/

/** `SCRIPT` on a Cluster's primaries, sent again while one answers that it did not run it (a failover). */
const untilRun = <A>(client: Client, send: () => Promise<A>): Promise<A> =>
  client instanceof Cluster ? retryNotRun(client, send) : send()

const retryNotRun = async <A>(client: Cluster, send: () => Promise<A>): Promise<A> => {
  for (let attempt = 0; ; attempt++) {
    try {
      return await send()
    } catch (error) {
      if (attempt >= FailoverTries || !(error instanceof Error) || !NotRun.test(error.message)) throw error
      await betweenFailoverTries(client)
    }
  }
}

/**
 * A command on `client`. On a Cluster, `SCRIPT` goes to every primary (a script is called by SHA
 * on whichever shard holds its keys, and a primary promoted later loads it after NOSCRIPT).
 */
const call = (client: Client, command: string, args: ReadonlyArray<string | number | Buffer>): Promise<unknown> =>
  client instanceof Cluster && command.toUpperCase() === "SCRIPT"
    ? Promise.all(client.nodes("master").map((node) => node.call(command, ...args))).then((replies) => replies[0])
    : client.call(command, ...args)

/**
 * The connection that carries commands on `key`: the client itself, or the Cluster's primary for
 * it (waiting a few seconds for one while a failover is under way).
 */
const nodeServing = async (client: Client, key: string): Promise<IORedis> => {
  if (!(client instanceof Cluster)) return client
  for (let attempt = 0; attempt < FailoverTries; attempt++) {
    const owner = client.slots[Slots.of(key)]?.[0]
    const node = client.nodes("master").find(({ options }) => `${options.host}:${options.port}` === owner)
    if (node !== undefined) return node
    await betweenFailoverTries(client)
  }
  throw new Error(`no known primary serves the slot of ${key}`)
}

/**
 * A subscription on a Cluster. A shard channel is served by the nodes of its slot (primary and
 * replicas); a plain channel by any node, since PUBLISH reaches every node. When the node goes
 * away the subscription moves to another one the Cluster knows, and says so once it is live
 * there (messages in between were missed).
 */
const roamingSubscriber = (
  cluster: Cluster,
  channel: string,
  sharded: boolean,
  clientOptions: RedisOptions,
  on: { readonly onMessage: (channel: string, message: string) => void; readonly onResubscribed: () => void },
) => {
  let closed = false
  let current: IORedis | undefined
  let attempt = 0
  /** Where to try next: the slot's nodes as the Cluster last saw them, or any node. */
  const candidates = (): ReadonlyArray<{ readonly host: string; readonly port: number }> => {
    const owners = sharded ? (cluster.slots[Slots.of(channel)] ?? []) : []
    const known = owners.flatMap((key) => {
      const colon = key.lastIndexOf(":")
      return colon > 0 ? [{ host: key.slice(0, colon), port: Number(key.slice(colon + 1)) }] : []
    })
    return known.length > 0
      ? known
      : cluster.nodes().map(({ options }) => ({ host: options.host ?? "127.0.0.1", port: options.port ?? 6379 }))
  }
  const connect = async (): Promise<void> => {
    const nodes = candidates()
    const node = nodes[attempt++ % Math.max(1, nodes.length)]
    if (node === undefined) throw new Error("the Cluster knows no node to subscribe on")
    const conn = new IORedis({
      ...(clientOptions.username === undefined ? {} : { username: clientOptions.username }),
      ...(clientOptions.password === undefined ? {} : { password: clientOptions.password }),
      host: node.host,
      port: node.port,
      lazyConnect: true,
      retryStrategy: () => null,
      autoResubscribe: false,
    })
    conn.on("error", () => {})
    conn.on(sharded ? "smessage" : "message", on.onMessage)
    // The slot moved away from this node: Redis ends the shard subscription; find its new owner.
    if (sharded) conn.on("sunsubscribe", () => conn.disconnect())
    current = conn
    await conn.connect()
    await (sharded ? conn.ssubscribe(channel) : conn.subscribe(channel))
    conn.once("end", () => {
      if (!closed) setTimeout(retry, 50)
    })
  }
  const retry = () => {
    if (closed) return
    current?.disconnect()
    connect().then(
      () => on.onResubscribed(),
      () => {
        // The Cluster may not know of the failover yet.
        cluster.refreshSlotsCache()
        setTimeout(retry, retryStrategy(attempt))
      },
    )
  }
  return {
    started: connect(),
    close: () => {
      closed = true
      current?.disconnect()
    },
  }
}

/**
 * Whether a command may skip auto-pipelining and go out at once: on one Redis (not a Cluster) whose
 * connection is idle, that is ready, with no reply awaited and nothing queued for the next
 * pipeline. ioredis defers every auto-pipelined command to `setImmediate`, a turn of the event
 * loop that an idle queue's pickup would pay twice (the enqueue, then the fetch); a busy connection
 * still batches its commands. With nothing queued, nothing is overtaken: commands go out in the
 * order they were issued.
 */
const idle = (client: Client): client is IORedis =>
  client instanceof IORedis &&
  client.status === "ready" &&
  IoredisInternals.autoPipelined(client) === 0 &&
  (IoredisInternals.awaitingReplies(client) === 0 || corked.has(client))

/**
 * Connections whose commands of this turn go out in one write: the first command sent at once
 * corks the socket until the turn ends, and the commands issued in the same turn (an ack batch and
 * the next fetch, say) join it. A write is a system call that wakes Redis: one per turn, not one
 * per command.
 */
const corked = new WeakSet<IORedis>()
const corkForTurn = (client: IORedis): void => {
  if (corked.has(client)) return
  corked.add(client)
  const uncork = IoredisInternals.corkSocket(client)
  process.nextTick(() => {
    corked.delete(client)
    uncork()
  })
}

/** A command written to the connection now, as ioredis's own methods build it. */
const sendNow = (
  client: IORedis,
  command: string,
  args: ReadonlyArray<string | number | Buffer>,
  replyEncoding: "utf8" | null,
): Promise<unknown> => {
  corkForTurn(client)
  return client.sendCommand(
    new Command(command, [...args], {
      replyEncoding,
      ...(client.options.keyPrefix === undefined ? {} : { keyPrefix: client.options.keyPrefix }),
    }),
  ) as Promise<unknown>
}

/**
 * A command with bulk replies as Buffers. ioredis 6.0.0's `callBuffer` loses the command's name
 * when it is auto-pipelined; its named `<command>Buffer` methods keep it (and the pipelining).
 */
const sendBuffer = (client: Client, command: string, args: ReadonlyArray<string | number | Buffer>) => {
  if (command === "SCRIPT") return call(client, command, args)
  const named = (client as unknown as Record<string, unknown>)[`${command.toLowerCase()}Buffer`]
  return typeof named === "function"
    ? (named.apply(client, args) as Promise<unknown>)
    : (client.sendCommand(new Command(command, [...args], { replyEncoding: null })) as Promise<unknown>)
}

/** Sent as they are: ioredis writes Buffers byte for byte. */
const toWireArg = (arg: Wire.Arg): string | number | Buffer =>
  typeof arg === "string" || typeof arg === "number" || Buffer.isBuffer(arg)
    ? arg
    : Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength)

/** Effect's `Redis` service and our `Wire` over ioredis, closed with the layer's scope. */
export const layer = (options: ConnectionOptions): Layer.Layer<Redis.Redis | Wire.Wire, Redis.RedisError> =>
  Layer.effectContext(makeServices(options))
