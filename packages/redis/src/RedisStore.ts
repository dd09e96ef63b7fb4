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
import type * as Config from "effect/Config"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redis from "effect/persistence/Redis"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Connection from "./Connection.ts"
import * as EnvConfig from "./EnvConfig.ts"
import * as Keys from "./Keys.ts"
import * as Scripts from "./Scripts.ts"
import * as Wire from "./Wire.ts"

export interface RedisStoreOptions {
  /** Prefix for every key (`<namespace>:queue:default`); none by default, as Sidekiq. */
  readonly namespace?: string | undefined
  /**
   * `sidekiq` (the default on one Redis): Sidekiq's key layout. `cluster` (the default on a Redis
   * Cluster, and the only scheme that works there): every key of a queue shares its hash tag. See
   * Keys.ts and the README's "Redis keys" section.
   */
  readonly keyScheme?: Keys.Scheme | undefined
  /**
   * Replicas that must hold an enqueue or a job's outcome before it counts as done (Redis `WAIT`).
   * Replication is asynchronous: without this, a write acknowledged just before the primary dies
   * can be missing on the replica promoted in its place.
   */
  readonly durability?: Durability | undefined
}

export interface Durability {
  /** Replicas that must acknowledge each write. */
  readonly replicas: number
  /** How long to wait for them; a write they do not acknowledge in time fails with `StoreError`. */
  readonly timeout?: Duration.Input | undefined
}

/** Fewer replicas than asked for acknowledged a write within the durability timeout. */
export class NotReplicated extends Data.TaggedError("NotReplicated")<{
  readonly wanted: number
  readonly acknowledged: number
}> {
  override get message() {
    return `only ${this.acknowledged} of ${this.wanted} replicas acknowledged the write in time`
  }
}

/** In-progress jobs moved back per atomic batch. */
const RequeueBatchSize = 100

/** Recovery counts are forgotten a week after a job's last recovery. */
const RecoveryMemorySeconds = 7 * 24 * 3600

/** Payloads as Redis holds them: bytes, turned into the store's strings by `Payload.fromBytes`. */
const Payloads = Schema.Array(Schema.Uint8Array)
const RecoverReply = Schema.Tuple([Schema.Number, Payloads])
const FetchReply = Schema.Tuple([Payloads, Schema.Number, Schema.Number])
/** How many members moved, and the names (bytes) of the queues pushed to. */
const PromoteReply = Schema.Tuple([Schema.Number, Schema.Array(Schema.Uint8Array)])
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

/** Scored members in ZRANGE's order: by score, then by member. */
const byScore = (members: ReadonlyArray<Store.ScoredPayload>): Array<Store.ScoredPayload> =>
  [...members].sort((a, b) => a.score - b.score || (a.payload < b.payload ? -1 : a.payload > b.payload ? 1 : 0))

/** ZRANGE's index rules (negative indexes count from the end, `stop` inclusive) on a list. */
const sliceLikeZrange = <A>(list: ReadonlyArray<A>, start: number, stop: number): Array<A> => {
  const from = start < 0 ? Math.max(0, list.length + start) : start
  const to = stop < 0 ? list.length + stop : Math.min(stop, list.length - 1)
  return from > to ? [] : list.slice(from, to + 1)
}

export const make = Effect.fnUntraced(function* (options: RedisStoreOptions = {}) {
  const redis = yield* Redis.Redis
  const wire = yield* Wire.Wire
  const keys = Keys.make(options.namespace, options.keyScheme ?? (wire.cluster ? "cluster" : "sidekiq"))
  if (keys.scheme === "sidekiq" && wire.cluster) {
    return yield* Effect.die(
      new Error(
        'Sidekiq\'s key scheme cannot run on a Redis Cluster (its scripts span slots): use keyScheme "cluster"',
      ),
    )
  }
  const cluster = keys.scheme === "cluster"
  const tokenSeconds = Store.EnqueueTokenSeconds

  /** Runs a command or script, decodes its reply, and names the operation in errors and traces. */
  const run =
    <S extends Schema.Decoder<unknown>>(operation: string, reply: S) =>
    (effect: Effect.Effect<unknown, Redis.RedisError>): Effect.Effect<S["Type"], Store.StoreError> =>
      effect.pipe(
        Effect.flatMap(Schema.decodeUnknownEffect(reply)),
        Effect.mapError((cause) => new Store.StoreError({ operation, cause })),
        // Named by the operation: a stack trace per command would cost more than the command.
        Effect.withSpan(`RedisStore.${operation}`, undefined, { captureStackTrace: false }),
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

  /**
   * With `durability`, a write counts as done once that many replicas hold it: `WAIT` on the
   * connection that carried it (the one serving `key`) covers every write sent on it before.
   */
  const { durability } = options
  const waitMillis = Duration.toMillis(Duration.fromInputUnsafe(durability?.timeout ?? "1 second"))
  const replicated = (operation: string, writer: Wire.Writer, replicas: number) =>
    wire.waitForReplicas(writer, replicas, waitMillis).pipe(
      Effect.mapError((cause) => new Store.StoreError({ operation, cause })),
      Effect.flatMap((acknowledged) =>
        acknowledged >= replicas
          ? Effect.void
          : Effect.fail(
              new Store.StoreError({ operation, cause: new NotReplicated({ wanted: replicas, acknowledged }) }),
            ),
      ),
    )
  /** The connection is taken before the write: a WAIT on a reconnected one would cover nothing. */
  const durable =
    (operation: string, key: string) =>
    <A>(write: Effect.Effect<A, Store.StoreError>): Effect.Effect<A, Store.StoreError> =>
      durability === undefined
        ? write
        : Effect.flatMap(
            Effect.mapError(wire.writer(key), (cause) => new Store.StoreError({ operation, cause })),
            (writer) => Effect.tap(write, () => replicated(operation, writer, durability.replicas)),
          )

  /** Cluster scheme: registry writes (another slot) that must land before the keys they describe. */
  const register = (operation: string, key: string, ...members: ReadonlyArray<string>) =>
    cluster && members.length > 0 ? Effect.asVoid(send(operation, "SADD", key, ...members)) : Effect.void

  /**
   * Notifications. Sidekiq's scheme publishes inside its scripts, atomically with the change. A
   * plain PUBLISH on a Redis Cluster reaches the other nodes later over the cluster bus, so
   * notifications from different shards would arrive out of order: the cluster scheme's scripts
   * publish nothing (`channel` is '') and the store publishes after them on the sharded channel of
   * `{verk}` (SPUBLISH), on one connection, in the order the changes were made.
   */
  const channel = cluster ? "" : keys.notify
  const publish = (operation: string, message: string) =>
    Effect.asVoid(send(operation, cluster ? "SPUBLISH" : "PUBLISH", keys.notify, message))
  /** After a script of the cluster scheme: publish what Sidekiq's scheme's script published itself. */
  const publishAfter = (operation: string, message: string, when = true) =>
    cluster && when ? publish(operation, message) : Effect.void

  /** `homes` only grows, so each is written once per store (then never again by this process). */
  const knownHomes = new Set<string>()
  const registerHomes = (operation: string, ...names: ReadonlyArray<string>) => {
    if (!cluster) return Effect.void
    const fresh = names.filter((name) => !knownHomes.has(name))
    return fresh.length === 0
      ? Effect.void
      : Effect.tap(register(operation, keys.homes, ...fresh), () =>
          Effect.sync(() => {
            for (const name of fresh) knownHomes.add(name)
          }),
        )
  }
  /** Cluster scheme: the queues where `node` is registered as maybe holding in-progress jobs. */
  const queuesOf = (node: string) =>
    eachHome("nodeQueues", (home) =>
      Effect.map(count("nodeQueues", "SISMEMBER", keys.nodesOf(home), node), (member) => (member === 1 ? [home] : [])),
    ).pipe(Effect.map((found) => found.flat().sort()))

  /** The homes whose part of a sorted set may hold members: one in Sidekiq's scheme. */
  const homes: Effect.Effect<ReadonlyArray<string>, Store.StoreError> = cluster
    ? strings("homes", "SMEMBERS", keys.homes)
    : Effect.succeed([Keys.DefaultHome])
  const eachHome = <A>(operation: string, f: (home: string) => Effect.Effect<A, Store.StoreError>) =>
    Effect.flatMap(homes, (names) => Effect.forEach(names, f, { concurrency: "unbounded" })).pipe(
      Effect.withSpan(`RedisStore.${operation}`),
    )
  /** Where a set member lives: its home in the cluster scheme, the one set in Sidekiq's. */
  const homeOf = (raw: string): string => (cluster ? Keys.homeOf(raw) : Keys.DefaultHome)
  /** Members grouped by their home (Sidekiq's scheme: all in one). */
  const byHome = <A>(items: ReadonlyArray<A>, rawOf: (item: A) => string): Map<string, Array<A>> => {
    const groups = new Map<string, Array<A>>()
    for (const item of items) {
      const home = homeOf(rawOf(item))
      const group = groups.get(home)
      if (group === undefined) groups.set(home, [item])
      else group.push(item)
    }
    return groups
  }

  /**
   * A failed job's outcome: its entry in `set` (retry or dead) and its removal from in-progress.
   * One script (`atomic`) when the entry's home is the queue the job was fetched from, which is
   * always so in Sidekiq's scheme. In the cluster scheme a payload naming another queue has its
   * home in another slot: the entry is written first (`entry`) and the job leaves in-progress
   * after, in two steps (a crash between runs it again; it is never lost).
   */
  const writeOutcome = (
    operation: string,
    set: "retry" | "dead",
    queue: string,
    node: string,
    raw: string,
    payload: string,
    atomic: (setKey: string) => Effect.Effect<unknown, Store.StoreError>,
    entry: (setKey: string) => Effect.Effect<unknown, Store.StoreError>,
  ) => {
    const home = homeOf(payload)
    const setKey = keys.set(set, home)
    const write =
      !cluster || home === queue
        ? atomic(setKey)
        : entry(setKey).pipe(
            durable(operation, setKey),
            Effect.andThen(
              Wire.evalScript(wire, Scripts.ack)(keys.inProgress(queue, node), [toWire(raw)]).pipe(
                run(operation, Integer),
              ),
            ),
          )
    return registerHomes(operation, home).pipe(
      Effect.andThen(write),
      durable(operation, keys.inProgress(queue, node)),
      Effect.asVoid,
    )
  }

  /**
   * Promotions of members of `home`'s part of `set`, one script call: to queues (Sidekiq's
   * scheme: any; the cluster's: `home` itself, in its slot) or to dead. In the cluster scheme a
   * promotion to another queue is two steps: the push, then the removal from the set, taken back
   * when another node removed the member first (so it is never lost, and runs twice only if this
   * node dies between the steps).
   */
  const promoteHome = Effect.fnUntraced(function* (
    set: Store.SortedSetName,
    home: string,
    promotions: ReadonlyArray<Store.Promotion>,
    deadAt: number,
  ) {
    const here = cluster ? promotions.filter(({ queue }) => queue === undefined || queue === home) : promotions
    const elsewhere = cluster ? promotions.filter(({ queue }) => queue !== undefined && queue !== home) : []
    const queueNames = [...new Set(here.flatMap(({ queue }) => (queue === undefined ? [] : [queue])))]
    let moved = 0
    if (here.length > 0) {
      yield* register("promote", keys.queues, ...queueNames)
      moved += yield* Wire.evalScript(wire, Scripts.promote)(
        {
          set: keys.set(set, home),
          dead: keys.set("dead", home),
          queues: queueNames.map(keys.queue),
          registry: cluster ? undefined : keys.queues,
        },
        channel,
        deadAt,
        here.map(({ raw, payload, queue }) => ({
          raw: toWire(raw),
          payload: toWire(payload),
          queue: queue ?? "",
          index: queue === undefined ? 0 : queueNames.indexOf(queue) + 1,
        })),
      ).pipe(
        run("promote", PromoteReply),
        Effect.tap(([, pushed]) =>
          Effect.forEach(pushed, (queue) => publishAfter("promote", `work:${Buffer.from(queue).toString()}`), {
            discard: true,
          }),
        ),
        Effect.map(([count]) => count),
      )
    }
    for (const { raw, payload, queue = home } of elsewhere) {
      yield* sendBytes(Integer)("promote", "LPUSH", keys.queue(queue), toWire(payload))
      const removed = yield* sendBytes(Integer)("promote", "ZREM", keys.set(set, home), toWire(raw))
      if (removed === 0) yield* sendBytes(Integer)("promote", "LREM", keys.queue(queue), 1, toWire(payload))
      else {
        moved++
        yield* register("promote", keys.queues, queue)
        yield* publish("promote", `work:${queue}`)
      }
    }
    return moved
  })

  const store: Store.StoreShape = {
    enqueue: (queue, payloads, token) =>
      payloads.length === 0
        ? Effect.void
        : register("enqueue", keys.queues, queue).pipe(
            Effect.andThen(
              Effect.suspend(() =>
                // A fresh token per call when none is given: ioredis may send this very command twice.
                Wire.evalScript(wire, Scripts.enqueue)(
                  {
                    queue: keys.queue(queue),
                    token: keys.enqueueToken(queue, token ?? Job.makeJid()),
                    queues: cluster ? undefined : keys.queues,
                  },
                  queue,
                  channel,
                  tokenSeconds,
                  payloads.map(toWire),
                ),
              ).pipe(
                run("enqueue", Integer),
                // -1: the token was spent, nothing was pushed.
                Effect.tap((length) => publishAfter("enqueue", `work:${queue}`, length >= 0)),
              ),
            ),
            durable("enqueue", keys.queue(queue)),
            Effect.asVoid,
          ),
    addScheduled: (set, entries) => {
      if (entries.length === 0) return Effect.void
      const groups = byHome(entries, (entry) => entry.payload)
      return registerHomes("addScheduled", ...groups.keys()).pipe(
        Effect.andThen(
          Effect.forEach(
            groups,
            ([home, group]) =>
              sendBytes(Integer)(
                "addScheduled",
                "ZADD",
                keys.set(set, home),
                ...group.flatMap(({ payload, score }) => [score, toWire(payload)]),
              ).pipe(durable("addScheduled", keys.set(set, home))),
            { concurrency: "unbounded", discard: true },
          ),
        ),
        Effect.andThen(publish("addScheduled", "scheduled")),
        Effect.asVoid,
      )
    },
    fetch: (queue, node, wanted, isolate = false) =>
      wanted < 1
        ? Effect.succeed({ jobs: [], isolated: false, blocked: false })
        : Effect.andThen(
            // The cluster scheme finds in-progress jobs through `homes`: the queue is there first.
            registerHomes("fetch", queue),
            Wire.evalScript(wire, Scripts.fetch)(
              {
                queue: keys.queue(queue),
                inProgress: keys.inProgress(queue, node),
                recovered: keys.recovered(queue),
                nodes: keys.nodesOf(queue),
                nodeQueues: cluster ? undefined : keys.nodeQueues(node),
              },
              wanted,
              queue,
              node,
              isolate,
            ).pipe(run("fetch", FetchReply)),
          ).pipe(
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
            durable("ack", keys.inProgress(queue, node)),
            Effect.asVoid,
          ),
    retry: (queue, node, raw, payload, at) =>
      writeOutcome(
        "retry",
        "retry",
        queue,
        node,
        raw,
        payload,
        (retrySet) =>
          Wire.evalScript(wire, Scripts.retry)(
            keys.inProgress(queue, node),
            retrySet,
            toWire(raw),
            toWire(payload),
            at,
            channel,
          ).pipe(run("retry", Integer)),
        (retrySet) => sendBytes(Integer)("retry", "ZADD", retrySet, at, toWire(payload)),
      ).pipe(Effect.tap(() => publishAfter("retry", "scheduled"))),
    kill: (queue, node, raw, payload, at, limits: Store.DeadSetLimits) => {
      const cutoff = at - limits.maxAgeSeconds
      return writeOutcome(
        "kill",
        "dead",
        queue,
        node,
        raw,
        payload,
        (dead) =>
          Wire.evalScript(wire, Scripts.kill)(
            keys.inProgress(queue, node),
            dead,
            toWire(raw),
            toWire(payload),
            at,
            limits.maxJobs,
            cutoff,
          ).pipe(run("kill", Integer)),
        (dead) =>
          sendBytes(Integer)("kill", "ZADD", dead, at, toWire(payload)).pipe(
            Effect.andThen(send("kill", "ZREMRANGEBYSCORE", dead, "-inf", cutoff)),
            Effect.andThen(send("kill", "ZREMRANGEBYRANK", dead, 0, -(limits.maxJobs + 1))),
          ),
      )
    },
    requeueInProgress: Effect.fn("RedisStore.requeueInProgress")(function* (queue: string, node: string) {
      let total = 0
      while (true) {
        const moved = yield* redis
          .eval(Scripts.requeueInProgress)(
            { inProgress: keys.inProgress(queue, node), queue: keys.queue(queue) },
            RequeueBatchSize,
            queue,
            channel,
          )
          .pipe(
            run("requeueInProgress", Integer),
            Effect.tap((moved) => publishAfter("requeueInProgress", `work:${queue}`, moved > 0)),
          )
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
    nodes: (cluster
      ? Effect.map(
          Effect.all([
            strings("nodes", "SMEMBERS", keys.nodes),
            eachHome("nodes", (home) => strings("nodes", "SMEMBERS", keys.nodesOf(home))),
          ]),
          ([beating, fetched]) => [...new Set([...beating, ...fetched.flat()])],
        )
      : strings("nodes", "SMEMBERS", keys.nodes)
    ).pipe(Effect.map((names) => [...names].sort())),
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
      cluster
        ? queuesOf(node)
        : strings("nodeQueues", "SMEMBERS", keys.nodeQueues(node)).pipe(Effect.map((q) => [...q].sort())),
    recoverBatch: (queue, node, maxRecoveries) =>
      Wire.evalScript(wire, Scripts.recoverInProgress)(
        [keys.inProgress(queue, node), keys.queue(queue), keys.recovered(queue)],
        RequeueBatchSize,
        queue,
        channel,
        maxRecoveries,
        RecoveryMemorySeconds,
      ).pipe(
        run("recoverBatch", RecoverReply),
        Effect.tap(([taken, poisoned]) => publishAfter("recoverBatch", `work:${queue}`, taken > poisoned.length)),
        Effect.map(([taken, poisoned]) => ({ taken, poisoned: fromBytes(poisoned) })),
      ),
    forgetRecovery: (queue, raw) =>
      sendBytes(Integer)("forgetRecovery", "HDEL", keys.recovered(queue), toWire(raw)).pipe(Effect.asVoid),
    requeueOrphans: (queue, node, raws) =>
      raws.length === 0
        ? Effect.succeed(0)
        : Wire.evalScript(wire, Scripts.requeueOrphans)(
            keys.inProgress(queue, node),
            keys.queue(queue),
            queue,
            channel,
            raws.map(toWire),
          ).pipe(
            run("requeueOrphans", Integer),
            Effect.tap((moved) => publishAfter("requeueOrphans", `work:${queue}`, moved > 0)),
          ),
    deregister: Effect.fn("RedisStore.deregister")(function* (node: string) {
      // Sidekiq's scheme looks at the in-progress lists inside the one script (atomically). The
      // cluster's registers nodes per queue, in each queue's slot: the node leaves each queue where
      // it holds nothing first, and the shared registries only if it left them all.
      const inProgress = cluster
        ? []
        : (yield* strings("deregister", "SMEMBERS", keys.nodeQueues(node))).map(
            (queue) => [queue, keys.inProgress(queue, node)] as const,
          )
      let keptElsewhere = false
      if (cluster) {
        for (const queue of yield* queuesOf(node)) {
          const left = yield* redis
            .eval(Scripts.deregisterQueue)(
              { inProgress: keys.inProgress(queue, node), nodes: keys.nodesOf(queue) },
              node,
            )
            .pipe(run("deregister", Integer))
          if (left === 0) keptElsewhere = true
        }
      }
      const removed = yield* redis
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
          inProgress,
          keptElsewhere,
        )
        .pipe(run("deregister", Integer))
      return removed > 0
    }),
    earliest: (set) =>
      eachHome("earliest", (home) =>
        sendFor(ScoredPairs)("earliest", "ZRANGE", keys.set(set, home), 0, 0, "WITHSCORES"),
      ).pipe(
        Effect.map((replies) => {
          const scores = replies.flatMap((pairs) => (pairs[0] === undefined ? [] : [Number(pairs[0][1])]))
          return scores.length === 0 ? undefined : Math.min(...scores)
        }),
      ),
    due: (set, now, limit) =>
      limit < 1
        ? Effect.succeed([])
        : cluster
          ? eachHome("due", (home) =>
              sendBytes(ScoredPayloads)(
                "due",
                "ZRANGEBYSCORE",
                keys.set(set, home),
                "-inf",
                now,
                "WITHSCORES",
                "LIMIT",
                0,
                limit,
              ).pipe(Effect.map(toScored)),
            ).pipe(
              Effect.map((parts) =>
                byScore(parts.flat())
                  .slice(0, limit)
                  .map(({ payload }) => payload),
              ),
            )
          : payloads("due", "ZRANGEBYSCORE", keys.set(set, Keys.DefaultHome), "-inf", now, "LIMIT", 0, limit),
    promote: (set, promotions, deadAt) =>
      promotions.length === 0
        ? Effect.succeed(0)
        : Effect.forEach(
            byHome(promotions, (promotion) => promotion.raw),
            ([home, group]) => promoteHome(set, home, group, deadAt),
            {
              concurrency: "unbounded",
            },
          ).pipe(
            Effect.map((moved) => moved.reduce((sum, n) => sum + n, 0)),
            Effect.withSpan("RedisStore.promote"),
          ),
    notifications: Stream.unwrap(wire.subscribe(keys.notify, { sharded: cluster })).pipe(
      Stream.mapError((cause) => new Store.StoreError({ operation: "notifications", cause })),
      Stream.filterMap(parseNotification),
    ),
    setPaused: (queue, paused) =>
      send("setPaused", paused ? "SADD" : "SREM", keys.paused, queue).pipe(
        Effect.andThen(publish("setPaused", `pause:${queue}`)),
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
                keys.statsToken(Job.makeJid()),
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
    setSize: (set) =>
      eachHome("setSize", (home) => count("setSize", "ZCARD", keys.set(set, home))).pipe(
        Effect.map((sizes) => sizes.reduce((sum, n) => sum + n, 0)),
      ),
    setRange: (set, start, stop) => {
      const range = (home: string, from: number, to: number) =>
        sendBytes(ScoredPayloads)("setRange", "ZRANGE", keys.set(set, home), from, to, "WITHSCORES").pipe(
          Effect.map(toScored),
        )
      if (!cluster) return range(Keys.DefaultHome, start, stop)
      // The union of the homes' parts by score: each part up to `stop` (all of it for indexes
      // from the end), then ZRANGE's index rules on the merged list.
      const upTo = start >= 0 && stop >= 0 ? stop : -1
      return eachHome("setRange", (home) => range(home, 0, upTo)).pipe(
        Effect.map((parts) => sliceLikeZrange(byScore(parts.flat()), start, stop)),
      )
    },
    deleteFromSet: (set, raw) =>
      sendBytes(Integer)("deleteFromSet", "ZREM", keys.set(set, homeOf(raw)), toWire(raw)).pipe(
        Effect.map((removed) => removed > 0),
      ),
    clearSet: (set) =>
      eachHome("clearSet", (home) => send("clearSet", "UNLINK", keys.set(set, home))).pipe(Effect.asVoid),
  }
  return store
})

/**
 * The store on existing connections: Effect's `Redis` service and our `Wire` on the same Redis, as
 * `Connection.layer` provides them (payloads need `Wire`: Effect's service only carries text).
 */
export const layerRedis = (options?: RedisStoreOptions): Layer.Layer<Store.Store, never, Redis.Redis | Wire.Wire> =>
  Layer.effect(Store.Store, make(options))

export interface LayerOptions extends RedisStoreOptions, Connection.ConnectionOptions {}

/** The store with its own connection; failing to connect is a `Store.StoreError`. */
export const layer = (options: LayerOptions = {}): Layer.Layer<Store.Store, Store.StoreError> =>
  layerRedis(options).pipe(
    Layer.provide(
      Layer.effectContext(
        Connection.makeServices(options).pipe(
          Effect.mapError((error) => new Store.StoreError({ operation: "connect", cause: error.cause })),
        ),
      ),
    ),
  )

export type { EnvSettings } from "./EnvConfig.ts"
export { config } from "./EnvConfig.ts"

/** The store on the Redis of the environment (see `config`). */
export const layerConfig: Layer.Layer<Store.Store, Store.StoreError | Config.ConfigError> = Layer.unwrap(
  Effect.map(EnvConfig.config, (settings) => layer(settings)),
)
