/**
 * The store over Redis, in Sidekiq's and Verk's key layout (see Keys.ts). Every multi-key change is
 * one Lua script of `lua/`; single commands go straight through. Replies are decoded with Schema,
 * and every failure is a `StoreError` naming the operation.
 */
import { type DeadSetLimits, Store, StoreError, type StoreShape } from "@verk/core/Store"
import { Effect, Layer, type Redacted, Schema } from "effect"
import * as Redis from "effect/persistence/Redis"
import * as Connection from "./Connection.ts"
import * as Keys from "./Keys.ts"
import * as Scripts from "./Scripts.ts"

export interface RedisStoreOptions {
  /** Prefix for every key (`<namespace>:queue:default`); none by default, as Sidekiq. */
  readonly namespace?: string | undefined
}

/** In-progress jobs moved back per atomic batch. */
const RequeueBatchSize = 100

const Strings = Schema.Array(Schema.String)
const Integer = Schema.Number
/** ZRANGE ... WITHSCORES: ioredis 6 replies with [member, score] pairs. */
const ScoredPairs = Schema.Array(Schema.Tuple([Schema.String, Schema.String]))

export const make = Effect.fnUntraced(function* (options: RedisStoreOptions = {}) {
  const redis = yield* Redis.Redis
  const keys = Keys.make(options.namespace)

  /** Runs a command or script, decodes its reply, and names the operation in errors and traces. */
  const run =
    <S extends Schema.Decoder<unknown>>(operation: string, reply: S) =>
    (effect: Effect.Effect<unknown, Redis.RedisError>): Effect.Effect<S["Type"], StoreError> =>
      effect.pipe(
        Effect.flatMap(Schema.decodeUnknownEffect(reply)),
        Effect.mapError((cause) => new StoreError({ operation, cause })),
        Effect.withSpan(`RedisStore.${operation}`),
      )
  const send = (operation: string, command: string, ...args: ReadonlyArray<string | number>) =>
    redis.send(command, ...args.map(String)).pipe(run(operation, Schema.Unknown))
  const sendFor =
    <S extends Schema.Decoder<unknown>>(reply: S) =>
    (operation: string, command: string, ...args: ReadonlyArray<string | number>) =>
      redis.send(command, ...args.map(String)).pipe(run(operation, reply))

  const count = sendFor(Integer)
  const strings = sendFor(Strings)

  const store: StoreShape = {
    enqueue: (queue, payloads) =>
      payloads.length === 0
        ? Effect.void
        : redis
            .eval(Scripts.enqueue)(keys.queues, keys.queue(queue), queue, payloads)
            .pipe(run("enqueue", Integer), Effect.asVoid),
    addScheduled: (set, entries) =>
      entries.length === 0
        ? Effect.void
        : send(
            "addScheduled",
            "ZADD",
            keys.set(set),
            ...entries.flatMap(({ payload, score }) => [score, payload]),
          ).pipe(Effect.asVoid),
    fetch: (queue, node, wanted) =>
      wanted < 1
        ? Effect.succeed([])
        : redis
            .eval(Scripts.fetch)(
              {
                queue: keys.queue(queue),
                inProgress: keys.inProgress(queue, node),
                nodeQueues: keys.nodeQueues(node),
                nodes: keys.nodes,
              },
              wanted,
              queue,
              node,
            )
            .pipe(run("fetch", Strings)),
    ack: (queue, node, raws) =>
      raws.length === 0
        ? Effect.void
        : redis.eval(Scripts.ack)(keys.inProgress(queue, node), raws).pipe(run("ack", Integer), Effect.asVoid),
    retry: (queue, node, raw, payload, at) =>
      redis
        .eval(Scripts.retry)(keys.inProgress(queue, node), keys.set("retry"), raw, payload, at)
        .pipe(run("retry", Integer), Effect.asVoid),
    kill: (queue, node, raw, payload, at, limits: DeadSetLimits) =>
      redis
        .eval(Scripts.kill)(
          keys.inProgress(queue, node),
          keys.set("dead"),
          raw,
          payload,
          at,
          limits.maxJobs,
          at - limits.maxAgeSeconds,
        )
        .pipe(run("kill", Integer), Effect.asVoid),
    requeueInProgress: Effect.fn("RedisStore.requeueInProgress")(function* (queue: string, node: string) {
      let total = 0
      while (true) {
        const moved = yield* redis
          .eval(Scripts.requeueInProgress)(keys.inProgress(queue, node), keys.queue(queue), RequeueBatchSize)
          .pipe(run("requeueInProgress", Integer))
        total += moved
        if (moved < RequeueBatchSize) return total
      }
    }),
    inProgress: (queue, node) => strings("inProgress", "LRANGE", keys.inProgress(queue, node), 0, -1),
    due: (set, now, limit) =>
      limit < 1 ? Effect.succeed([]) : strings("due", "ZRANGEBYSCORE", keys.set(set), "-inf", now, "LIMIT", 0, limit),
    promote: (set, promotions, deadAt) =>
      promotions.length === 0
        ? Effect.succeed(0)
        : redis
            .eval(Scripts.promote)(
              { set: keys.set(set), queues: keys.queues, dead: keys.set("dead") },
              keys.prefix,
              deadAt,
              promotions.flatMap(({ raw, payload, queue }) => [raw, payload, queue ?? ""]),
            )
            .pipe(run("promote", Integer)),
    setPaused: (queue, paused) => send("setPaused", paused ? "SADD" : "SREM", keys.paused, queue).pipe(Effect.asVoid),
    pausedQueues: strings("pausedQueues", "SMEMBERS", keys.paused).pipe(Effect.map((names) => new Set(names))),
    incrementStats: (processed, failed, day) =>
      processed === 0 && failed === 0
        ? Effect.void
        : redis
            .eval(Scripts.stats)(
              [keys.stat("processed"), keys.stat("processed", day), keys.stat("failed"), keys.stat("failed", day)],
              processed,
              failed,
            )
            .pipe(run("incrementStats", Integer), Effect.asVoid),
    stats: (day) =>
      strings("stats", "MGET", keys.stat("processed", day), keys.stat("failed", day)).pipe(
        Effect.map(([processed, failed]) => ({ processed: Number(processed ?? 0), failed: Number(failed ?? 0) })),
      ),
    queues: strings("queues", "SMEMBERS", keys.queues).pipe(Effect.map((names) => [...names].sort())),
    queueSize: (queue) => count("queueSize", "LLEN", keys.queue(queue)),
    queueRange: (queue, start, stop) => strings("queueRange", "LRANGE", keys.queue(queue), start, stop),
    deleteFromQueue: (queue, raw) =>
      count("deleteFromQueue", "LREM", keys.queue(queue), 1, raw).pipe(Effect.map((removed) => removed > 0)),
    clearQueue: (queue) =>
      Effect.andThen(send("clearQueue", "UNLINK", keys.queue(queue)), send("clearQueue", "SREM", keys.queues, queue)),
    setSize: (set) => count("setSize", "ZCARD", keys.set(set)),
    setRange: (set, start, stop) =>
      sendFor(ScoredPairs)("setRange", "ZRANGE", keys.set(set), start, stop, "WITHSCORES").pipe(
        Effect.map((pairs) => pairs.map(([payload, score]) => ({ payload, score: Number(score) }))),
      ),
    deleteFromSet: (set, raw) =>
      count("deleteFromSet", "ZREM", keys.set(set), raw).pipe(Effect.map((removed) => removed > 0)),
    clearSet: (set) => send("clearSet", "UNLINK", keys.set(set)).pipe(Effect.asVoid),
  }
  return store
})

/** The store on an existing `Redis` service. */
export const layerRedis = (options?: RedisStoreOptions): Layer.Layer<Store, never, Redis.Redis> =>
  Layer.effect(Store, make(options))

export interface LayerOptions extends RedisStoreOptions, Connection.ConnectionOptions {
  readonly url: string | Redacted.Redacted<string>
}

/** The store with its own connection to `url`; failing to connect is a `StoreError`. */
export const layer = (options: LayerOptions): Layer.Layer<Store, StoreError> =>
  layerRedis(options).pipe(
    Layer.provide(
      Layer.effect(
        Redis.Redis,
        Connection.make(options).pipe(
          Effect.mapError((error) => new StoreError({ operation: "connect", cause: error.cause })),
        ),
      ),
    ),
  )
