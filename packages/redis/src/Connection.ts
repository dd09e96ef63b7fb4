/**
 * The ioredis edge: provides Effect's client-agnostic `Redis` service (effect/persistence/Redis) on
 * one ioredis command connection, with auto-pipelining, reconnection with capped backoff, and
 * duplicated connections for pub/sub and for the blocking commands behind `Redis.reserve`; and our
 * `Wire` service on the same connections (payloads as bytes, subscriptions that say when they are
 * back after a reconnect). This is the only place in the library where Promises appear.
 */
import { Buffer } from "node:buffer"
import { Context, Data, Effect, Layer, Queue, Redacted, type Scope } from "effect"
import * as Redis from "effect/persistence/Redis"
import { type RedisOptions as AllRedisOptions, Command, Redis as IORedis } from "ioredis"
import * as Wire from "./Wire.ts"

/** ioredis options; reply mapping stays ioredis's default, which the replies below expect. */
type RedisOptions = Omit<AllRedisOptions, "replyMapping">

export interface ConnectionOptions {
  readonly url: string | Redacted.Redacted<string>
  /** Extra ioredis options; the defaults below suit a job runner. */
  readonly ioredis?: RedisOptions | undefined
  readonly pool?: Redis.PoolOptions | undefined
}

/** Reconnect after 50 ms, doubling up to 500 ms: Redis restarts are short, and a stalled worker is costly. */
const retryStrategy = (attempt: number): number => Math.min(50 * 2 ** Math.min(attempt, 4), 500)

const toError = (cause: unknown) => new Redis.RedisError({ cause })

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

/** A connection could not be opened: the URL (password masked) and the last socket error. */
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
  const url = Redacted.isRedacted(options.url) ? Redacted.value(options.url) : options.url
  const clientOptions: RedisOptions = {
    lazyConnect: true,
    enableAutoPipelining: true,
    retryStrategy,
    ...options.ioredis,
  }
  const runFork = Effect.runForkWith(yield* Effect.context<never>())

  // A connection that cannot be opened fails at once with the socket's error (ioredis would go on
  // retrying in the background): a worker process then exits for its supervisor to restart it, and
  // a one-shot command reports the error. Once open, errors are logged and ioredis reconnects.
  const open = (role: string, extra?: RedisOptions) =>
    Effect.tryPromise({
      try: async () => {
        const merged: RedisOptions = { ...clientOptions, ...extra }
        const client = new IORedis(url, merged)
        let opened = false
        let lastError: unknown
        client.on("error", (cause: Error) => {
          if (opened) runFork(Effect.logWarning(`Redis ${role} connection error: ${cause.message}`))
          else lastError = cause
        })
        try {
          await client.connect()
          opened = true
          return client
        } catch (cause) {
          client.disconnect()
          throw new ConnectionFailed({ url: redactUrl(url), cause: lastError ?? cause })
        }
      },
      catch: (cause) =>
        toError(cause instanceof ConnectionFailed ? cause : new ConnectionFailed({ url: redactUrl(url), cause })),
    })

  const sendWith =
    (client: IORedis) =>
    <A = unknown>(command: string, ...args: ReadonlyArray<string>): Effect.Effect<A, Redis.RedisError> =>
      Effect.tryPromise({ try: () => client.call(command, ...args) as Promise<A>, catch: toError })

  const client = yield* Effect.acquireRelease(open("command"), (client) =>
    Effect.promise(() => client.quit().catch(() => client.disconnect())),
  )

  const redis = yield* Redis.make({
    send: sendWith(client),
    // Reserved connections carry blocking commands: they never reconnect by themselves, so a
    // dropped one fails its command and leaves the pool.
    connect: Effect.map(open("blocking", { retryStrategy: () => null, enableAutoPipelining: false }), (conn) => ({
      send: sendWith(conn),
      close: Effect.sync(() => conn.disconnect()),
    })),
    pool: options.pool,
    subscribe: Effect.fnUntraced(function* (channel, onMessage) {
      // ioredis re-subscribes by itself after a reconnect.
      const subscriber = yield* Effect.acquireRelease(open("subscriber"), (conn) =>
        Effect.sync(() => conn.disconnect()),
      )
      subscriber.on("message", (from: string, message: string) => onMessage({ channel: from, message }))
      yield* Effect.tryPromise({ try: () => subscriber.subscribe(channel), catch: toError })
      return Effect.never
    }),
  })

  const wire: Wire.WireShape = {
    // Bulk replies stay bytes; Buffer arguments are sent as they are.
    send: (command, args) =>
      Effect.tryPromise({ try: () => sendBuffer(client, command, args.map(toWireArg)), catch: toError }),
    subscribe: Effect.fnUntraced(function* (channel) {
      const events = yield* Queue.unbounded<Wire.SubscriptionEvent, Redis.RedisError>()
      yield* Effect.addFinalizer(() => Queue.shutdown(events))
      // Re-subscribed here rather than by ioredis, so that `Resubscribed` follows Redis's reply.
      const subscriber = yield* Effect.acquireRelease(open("subscriber", { autoResubscribe: false }), (conn) =>
        Effect.sync(() => conn.disconnect()),
      )
      subscriber.on("message", (from: string, message: string) => {
        Queue.offerUnsafe(events, { _tag: "Message", channel: from, message })
      })
      yield* Effect.tryPromise({ try: () => subscriber.subscribe(channel), catch: toError })
      // "ready" comes after each reconnect (the first one came before `open` returned). A subscribe
      // that fails here is tried again at the next reconnect.
      subscriber.on("ready", () => {
        subscriber.subscribe(channel).then(
          () => Queue.offerUnsafe(events, { _tag: "Resubscribed" }),
          (cause: unknown) => runFork(Effect.logWarning(`Could not subscribe again to ${channel}: ${String(cause)}`)),
        )
      })
      return events
    }),
  }

  return Context.make(Redis.Redis, redis).pipe(Context.add(Wire.Wire, wire))
})

/**
 * A command with bulk replies as Buffers. ioredis 6.0.0's `callBuffer` loses the command's name
 * when it is auto-pipelined; its named `<command>Buffer` methods keep it (and the pipelining).
 */
const sendBuffer = (client: IORedis, command: string, args: ReadonlyArray<string | number | Buffer>) => {
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

/** Effect's `Redis` service over ioredis, closed with the scope. */
export const make = (
  options: ConnectionOptions,
): Effect.Effect<Redis.Redis["Service"], Redis.RedisError, Scope.Scope> =>
  Effect.map(makeServices(options), Context.get(Redis.Redis))

/** Effect's `Redis` service and our `Wire` over ioredis, closed with the layer's scope. */
export const layer = (options: ConnectionOptions): Layer.Layer<Redis.Redis | Wire.Wire, Redis.RedisError> =>
  Layer.effectContext(makeServices(options))
