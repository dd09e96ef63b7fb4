/**
 * The store over Redis, in Sidekiq's and Verk's key layout (see Keys.ts). Every multi-key change is
 * one Lua script of `lua/`; single commands go straight through. Replies are decoded with Schema,
 * and every failure is a `StoreError` naming the operation.
 *
 * A payload is its bytes: whatever sends or reads payloads goes through `Wire` (bytes both ways),
 * and a payload whose bytes are not UTF-8 is carried in Payload's binary form, turned back into
 * the same bytes whenever it is sent (ack, retry, kill, requeue, promote, delete, forget). Commands
 * without payloads go through Effect's `Redis` service.
 */
import { Job, Payload, Store } from "@verk/core"
import { Config, Effect, Layer, Redacted, Result, Schema, Stream } from "effect"
import * as Redis from "effect/persistence/Redis"
import * as Connection from "./Connection.ts"
import * as Keys from "./Keys.ts"
import * as Scripts from "./Scripts.ts"
import * as Wire from "./Wire.ts"

export interface RedisStoreOptions {
  /** Prefix for every key (`<namespace>:queue:default`); none by default, as Sidekiq. */
  readonly namespace?: string | undefined
}

/** In-progress jobs moved back per atomic batch. */
const RequeueBatchSize = 100

/** Recovery counts are forgotten a week after a job's last recovery. */
const RecoveryMemorySeconds = 7 * 24 * 3600

/** Payloads as Redis holds them: bytes, turned into the store's strings by `Payload.fromBytes`. */
const Payloads = Schema.Array(Schema.Uint8Array)
const RecoverReply = Schema.Tuple([Schema.Number, Payloads])
const FetchReply = Schema.Tuple([Payloads, Schema.Number, Schema.Number])
const fromBytes = (payloads: ReadonlyArray<Uint8Array>): Array<string> => payloads.map(Payload.fromBytes)

const Strings = Schema.Array(Schema.String)
const Integer = Schema.Number
const NullableStrings = Schema.Array(Schema.NullOr(Schema.String))

/** Notification messages: `work:<queue>`, `pause:<queue>`, `scheduled`; and the subscription's return. */
const parseNotification = (event: Wire.SubscriptionEvent): Result.Result<Store.Notification, string> => {
  if (event._tag === "Resubscribed") return Result.succeed({ _tag: "Resubscribed" })
  const message = event.message
  if (message === "scheduled") return Result.succeed({ _tag: "Scheduled" })
  const colon = message.indexOf(":")
  const kind = message.slice(0, colon)
  const queue = message.slice(colon + 1)
  if (colon > 0 && queue !== "") {
    if (kind === "work") return Result.succeed({ _tag: "Work", queue })
    if (kind === "pause") return Result.succeed({ _tag: "Pause", queue })
  }
  return Result.fail(message)
}

/** ZRANGE ... WITHSCORES: ioredis 6 replies with [member, score] pairs. */
const ScoredPairs = Schema.Array(Schema.Tuple([Schema.String, Schema.String]))
/**
 * The same read as bytes (ioredis's `zrangeBuffer`): flat, member then score (the text of a
 * number); pairs are taken too.
 */
const ScoredPayloads = Schema.Array(
  Schema.Union([Schema.Uint8Array, Schema.Tuple([Schema.Uint8Array, Schema.Uint8Array])]),
)
const toScored = (reply: ReadonlyArray<Uint8Array | readonly [Uint8Array, Uint8Array]>): Array<Store.ScoredPayload> => {
  const flat = reply.flat()
  const scored: Array<Store.ScoredPayload> = []
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const [member, score] = [flat[i], flat[i + 1]]
    if (member !== undefined && score !== undefined) {
      scored.push({ payload: Payload.fromBytes(member), score: Number(Buffer.from(score).toString()) })
    }
  }
  return scored
}

export const make = Effect.fnUntraced(function* (options: RedisStoreOptions = {}) {
  const redis = yield* Redis.Redis
  const wire = yield* Wire.Wire
  const keys = Keys.make(options.namespace)
  const tokenSeconds = Store.EnqueueTokenSeconds

  /** Runs a command or script, decodes its reply, and names the operation in errors and traces. */
  const run =
    <S extends Schema.Decoder<unknown>>(operation: string, reply: S) =>
    (effect: Effect.Effect<unknown, Redis.RedisError>): Effect.Effect<S["Type"], Store.StoreError> =>
      effect.pipe(
        Effect.flatMap(Schema.decodeUnknownEffect(reply)),
        Effect.mapError((cause) => new Store.StoreError({ operation, cause })),
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
  /** A command whose arguments may be payloads (sent as their bytes); bulk replies are bytes. */
  const sendBytes =
    <S extends Schema.Decoder<unknown>>(reply: S) =>
    (operation: string, command: string, ...args: ReadonlyArray<Wire.Arg>) =>
      wire.send(command, args).pipe(run(operation, reply))
  /** Payloads read by a command, as the store's strings. */
  const payloads = (operation: string, command: string, ...args: ReadonlyArray<Wire.Arg>) =>
    Effect.map(sendBytes(Payloads)(operation, command, ...args), fromBytes)
  const { toWire } = Payload

  const store: Store.StoreShape = {
    enqueue: (queue, payloads, token) =>
      payloads.length === 0
        ? Effect.void
        : Effect.suspend(() =>
            // A fresh token per call when none is given: ioredis may send this very command twice.
            Wire.evalScript(wire, Scripts.enqueue)(
              { queues: keys.queues, queue: keys.queue(queue), token: keys.call(token ?? Job.makeJid()) },
              queue,
              keys.notify,
              tokenSeconds,
              payloads.map(toWire),
            ),
          ).pipe(run("enqueue", Integer), Effect.asVoid),
    addScheduled: (set, entries) =>
      entries.length === 0
        ? Effect.void
        : sendBytes(Integer)(
            "addScheduled",
            "ZADD",
            keys.set(set),
            ...entries.flatMap(({ payload, score }) => [score, toWire(payload)]),
          ).pipe(Effect.andThen(send("addScheduled", "PUBLISH", keys.notify, "scheduled")), Effect.asVoid),
    fetch: (queue, node, wanted, isolate = false) =>
      wanted < 1
        ? Effect.succeed({ jobs: [], isolated: false, blocked: false })
        : Wire.evalScript(wire, Scripts.fetch)(
            {
              queue: keys.queue(queue),
              inProgress: keys.inProgress(queue, node),
              nodeQueues: keys.nodeQueues(node),
              nodes: keys.nodes,
              recovered: keys.recovered,
            },
            wanted,
            queue,
            node,
            isolate,
          ).pipe(
            run("fetch", FetchReply),
            Effect.map(([jobs, isolated, blocked]) => ({
              jobs: fromBytes(jobs),
              isolated: isolated === 1,
              blocked: blocked === 1,
            })),
          ),
    ack: (queue, node, raws) =>
      raws.length === 0
        ? Effect.void
        : Wire.evalScript(wire, Scripts.ack)(keys.inProgress(queue, node), raws.map(toWire)).pipe(
            run("ack", Integer),
            Effect.asVoid,
          ),
    retry: (queue, node, raw, payload, at) =>
      Wire.evalScript(wire, Scripts.retry)(
        keys.inProgress(queue, node),
        keys.set("retry"),
        toWire(raw),
        toWire(payload),
        at,
        keys.notify,
      ).pipe(run("retry", Integer), Effect.asVoid),
    kill: (queue, node, raw, payload, at, limits: Store.DeadSetLimits) =>
      Wire.evalScript(wire, Scripts.kill)(
        keys.inProgress(queue, node),
        keys.set("dead"),
        toWire(raw),
        toWire(payload),
        at,
        limits.maxJobs,
        at - limits.maxAgeSeconds,
      ).pipe(run("kill", Integer), Effect.asVoid),
    requeueInProgress: Effect.fn("RedisStore.requeueInProgress")(function* (queue: string, node: string) {
      let total = 0
      while (true) {
        const moved = yield* redis
          .eval(Scripts.requeueInProgress)(
            { inProgress: keys.inProgress(queue, node), queue: keys.queue(queue) },
            RequeueBatchSize,
            queue,
            keys.notify,
          )
          .pipe(run("requeueInProgress", Integer))
        total += moved
        if (moved < RequeueBatchSize) return total
      }
    }),
    inProgress: (queue, node) => payloads("inProgress", "LRANGE", keys.inProgress(queue, node), 0, -1),
    heartbeat: (beat) =>
      redis
        .eval(Scripts.heartbeat)(
          [
            keys.node(beat.node),
            keys.nodes,
            keys.processes,
            keys.process(beat.node),
            keys.processWork(beat.node),
            keys.processWorkers(beat.node),
          ],
          beat.node,
          beat.ttlMillis,
          beat.now / 1000,
          beat.info,
          beat.busy,
          Math.round(beat.rss ?? 0),
          beat.work.flat(),
        )
        .pipe(run("heartbeat", Integer), Effect.asVoid),
    nodes: strings("nodes", "SMEMBERS", keys.nodes).pipe(Effect.map((names) => [...names].sort())),
    processes: Effect.gen(function* () {
      const identities = [...(yield* strings("processes", "SMEMBERS", keys.processes))].sort()
      const entries: Array<Store.ProcessEntry> = []
      for (const identity of identities) {
        const [info, busy, beat] = yield* sendFor(NullableStrings)(
          "processes",
          "HMGET",
          keys.process(identity),
          "info",
          "busy",
          "beat",
        )
        // The hash expires when beats stop; the set member may linger (Sidekiq's UI skips it too).
        if (info === null || info === undefined) continue
        const work = yield* sendFor(Strings)("processes", "HGETALL", keys.processWork(identity))
        const pairs: Array<readonly [string, string]> = []
        for (let i = 0; i + 1 < work.length; i += 2) pairs.push([work[i] ?? "", work[i + 1] ?? ""])
        entries.push({ identity, info, busy: Number(busy ?? 0), beat: Number(beat ?? 0), work: pairs })
      }
      return entries
    }).pipe(Effect.withSpan("RedisStore.processes")),
    isAlive: (node) => count("isAlive", "EXISTS", keys.node(node)).pipe(Effect.map((found) => found > 0)),
    nodeQueues: (node) =>
      strings("nodeQueues", "SMEMBERS", keys.nodeQueues(node)).pipe(Effect.map((q) => [...q].sort())),
    recoverBatch: (queue, node, maxRecoveries) =>
      Wire.evalScript(wire, Scripts.recoverInProgress)(
        [keys.inProgress(queue, node), keys.queue(queue), keys.recovered],
        RequeueBatchSize,
        queue,
        keys.notify,
        maxRecoveries,
        RecoveryMemorySeconds,
      ).pipe(
        run("recoverBatch", RecoverReply),
        Effect.map(([taken, poisoned]) => ({ taken, poisoned: fromBytes(poisoned) })),
      ),
    forgetRecovery: (raw) =>
      sendBytes(Integer)("forgetRecovery", "HDEL", keys.recovered, toWire(raw)).pipe(Effect.asVoid),
    requeueOrphans: (queue, node, raws) =>
      raws.length === 0
        ? Effect.succeed(0)
        : Wire.evalScript(wire, Scripts.requeueOrphans)(
            keys.inProgress(queue, node),
            keys.queue(queue),
            queue,
            keys.notify,
            raws.map(toWire),
          ).pipe(run("requeueOrphans", Integer)),
    deregister: (node) =>
      redis
        .eval(Scripts.deregisterNode)(
          [
            keys.nodes,
            keys.node(node),
            keys.nodeQueues(node),
            keys.processes,
            keys.process(node),
            keys.processWork(node),
            keys.processWorkers(node),
          ],
          node,
          keys.prefix,
        )
        .pipe(
          run("deregister", Integer),
          Effect.map((removed) => removed > 0),
        ),
    earliest: (set) =>
      sendFor(ScoredPairs)("earliest", "ZRANGE", keys.set(set), 0, 0, "WITHSCORES").pipe(
        Effect.map((pairs) => (pairs[0] === undefined ? undefined : Number(pairs[0][1]))),
      ),
    due: (set, now, limit) =>
      limit < 1 ? Effect.succeed([]) : payloads("due", "ZRANGEBYSCORE", keys.set(set), "-inf", now, "LIMIT", 0, limit),
    promote: (set, promotions, deadAt) =>
      promotions.length === 0
        ? Effect.succeed(0)
        : Wire.evalScript(wire, Scripts.promote)(
            { set: keys.set(set), queues: keys.queues, dead: keys.set("dead") },
            keys.prefix,
            keys.notify,
            deadAt,
            promotions.flatMap(({ raw, payload, queue }) => [toWire(raw), toWire(payload), queue ?? ""]),
          ).pipe(run("promote", Integer)),
    notifications: Stream.unwrap(
      Effect.map(wire.subscribe(keys.notify), (messages) => Stream.fromQueue(messages)),
    ).pipe(
      Stream.mapError((cause) => new Store.StoreError({ operation: "notifications", cause })),
      Stream.filterMap(parseNotification),
    ),
    setPaused: (queue, paused) =>
      send("setPaused", paused ? "SADD" : "SREM", keys.paused, queue).pipe(
        Effect.andThen(send("setPaused", "PUBLISH", keys.notify, `pause:${queue}`)),
        Effect.asVoid,
      ),
    pausedQueues: strings("pausedQueues", "SMEMBERS", keys.paused).pipe(Effect.map((names) => new Set(names))),
    incrementStats: (processed, failed, day) =>
      processed === 0 && failed === 0
        ? Effect.void
        : Effect.suspend(() =>
            redis.eval(Scripts.stats)(
              [
                keys.stat("processed"),
                keys.stat("processed", day),
                keys.stat("failed"),
                keys.stat("failed", day),
                // ioredis may send this very command twice: the token makes it count once.
                keys.call(Job.makeJid()),
              ],
              processed,
              failed,
              tokenSeconds,
            ),
          ).pipe(run("incrementStats", Integer), Effect.asVoid),
    stats: (day) =>
      sendFor(NullableStrings)("stats", "MGET", keys.stat("processed", day), keys.stat("failed", day)).pipe(
        Effect.map(([processed, failed]) => ({ processed: Number(processed ?? 0), failed: Number(failed ?? 0) })),
      ),
    queues: strings("queues", "SMEMBERS", keys.queues).pipe(Effect.map((names) => [...names].sort())),
    queueSize: (queue) => count("queueSize", "LLEN", keys.queue(queue)),
    queueRange: (queue, start, stop) => payloads("queueRange", "LRANGE", keys.queue(queue), start, stop),
    deleteFromQueue: (queue, raw) =>
      sendBytes(Integer)("deleteFromQueue", "LREM", keys.queue(queue), 1, toWire(raw)).pipe(
        Effect.map((removed) => removed > 0),
      ),
    clearQueue: (queue) =>
      Effect.andThen(send("clearQueue", "UNLINK", keys.queue(queue)), send("clearQueue", "SREM", keys.queues, queue)),
    setSize: (set) => count("setSize", "ZCARD", keys.set(set)),
    setRange: (set, start, stop) =>
      sendBytes(ScoredPayloads)("setRange", "ZRANGE", keys.set(set), start, stop, "WITHSCORES").pipe(
        Effect.map(toScored),
      ),
    deleteFromSet: (set, raw) =>
      sendBytes(Integer)("deleteFromSet", "ZREM", keys.set(set), toWire(raw)).pipe(
        Effect.map((removed) => removed > 0),
      ),
    clearSet: (set) => send("clearSet", "UNLINK", keys.set(set)).pipe(Effect.asVoid),
  }
  return store
})

/**
 * The store on existing connections: Effect's `Redis` service and our `Wire` on the same Redis, as
 * `Connection.layer` provides them (payloads need `Wire`: Effect's service only carries text).
 */
export const layerRedis = (options?: RedisStoreOptions): Layer.Layer<Store.Store, never, Redis.Redis | Wire.Wire> =>
  Layer.effect(Store.Store, make(options))

export interface LayerOptions extends RedisStoreOptions, Connection.ConnectionOptions {
  readonly url: string | Redacted.Redacted<string>
}

/** The store with its own connection to `url`; failing to connect is a `Store.StoreError`. */
export const layer = (options: LayerOptions): Layer.Layer<Store.Store, Store.StoreError> =>
  layerRedis(options).pipe(
    Layer.provide(
      Layer.effectContext(
        Connection.makeServices(options).pipe(
          Effect.mapError((error) => new Store.StoreError({ operation: "connect", cause: error.cause })),
        ),
      ),
    ),
  )

export interface EnvSettings {
  /** Redacted, so that it never shows in logs. */
  readonly url: Redacted.Redacted<string>
  readonly namespace: string | undefined
}

/** Where the store connects: `REDIS_URL` (default `redis://127.0.0.1:6379`) and `VERK_NAMESPACE`. */
export const settingsFromEnv: Config.Config<EnvSettings> = Config.all({
  url: Config.Redacted("REDIS_URL").pipe(Config.withDefault(Redacted.make("redis://127.0.0.1:6379"))),
  namespace: Config.String("VERK_NAMESPACE").pipe(Config.option),
}).pipe(
  Config.map(({ url, namespace }) => ({
    url,
    namespace: namespace._tag === "Some" ? namespace.value : undefined,
  })),
)

/** The store on the Redis of the environment (`REDIS_URL`, `VERK_NAMESPACE`). */
export const layerFromEnv: Layer.Layer<Store.Store, Store.StoreError | Config.ConfigError> = Layer.unwrap(
  Effect.map(settingsFromEnv, (settings) => layer(settings)),
)
