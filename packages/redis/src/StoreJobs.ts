/**
 * The store's operations on jobs: enqueue, fetch, ack, retry, kill, and the moves back to their
 * queue of in-progress jobs (a node's own at shutdown, a dead node's at recovery). Every multi-key
 * change is one Lua script of `lua/`.
 *
 * A payload whose bytes are not UTF-8 is carried in Payload's binary form, turned back into the
 * same bytes whenever it is sent (`toWire`).
 */
import { Job, Payload, Store } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Keys from "./Keys.ts"
import * as OutcomeWrite from "./OutcomeWrite.ts"
import * as Replies from "./Replies.ts"
import * as Scripts from "./Scripts.ts"
import type { Operations } from "./StoreContext.ts"
import * as Wire from "./Wire.ts"

/** In-progress jobs moved back per atomic batch. */
const RequeueBatchSize = 100

/** Recovery counts are forgotten a week after a job's last recovery. */
const RecoveryMemorySeconds = 7 * 24 * 3600

const { toWire } = Payload
const { Integer } = Replies

/**
 * Tokens for fetched jobs, unique among a node's in-progress entries of a queue: this store's
 * numbers increase from a random start (below 2^40, so they stay exact far beyond any process's
 * life), and a node that restarts under a fixed id puts its leftovers back before it fetches.
 */
const makeTokens = () => {
  let next = Math.floor(Math.random() * 2 ** 40)
  /** Keeps `count` consecutive numbers for one fetch; returns the first. */
  return (count: number): number => {
    const first = next
    next += count
    return first
  }
}

/** Enqueue, fetch, ack: the path every job takes. */
const flow: Operations<"enqueue" | "fetch" | "ack" | "inProgress"> = ({
  keys,
  scheme,
  durable,
  wire,
  run,
  sendBytes,
  batches,
}) => {
  // On the connection of the fetch script (Wire), so that it goes out right behind it.
  const readBatch = (batch: string) => sendBytes(Replies.Payloads)("fetch", "LRANGE", batch, 0, -1)
  const tokens = makeTokens()
  return {
    enqueue: (queue, payloads, token) =>
      payloads.length === 0
        ? Effect.void
        : scheme.register("enqueue", keys.queues, queue).pipe(
            Effect.andThen(
              Effect.suspend(() =>
                // A fresh token per call when none is given: ioredis may send this very command twice.
                Wire.evalScript(wire, Scripts.enqueue)(
                  {
                    queue: keys.queue(queue),
                    token: keys.enqueueToken(queue, token ?? Job.makeJid()),
                    queues: scheme.scriptQueues,
                  },
                  queue,
                  scheme.channel,
                  Store.EnqueueTokenSeconds,
                  payloads.map(toWire),
                ),
              ).pipe(
                run("enqueue", Integer),
                // -1: the token was spent, nothing was pushed.
                Effect.tap((length) => scheme.publishAfter("enqueue", `work:${queue}`, length >= 0)),
              ),
            ),
            durable("enqueue", keys.queue(queue)),
            Effect.asVoid,
          ),
    fetch: (queue, node, wanted, isolate = false, suspectFrom = 1) => {
      if (wanted < 1) return Effect.succeed({ jobs: [], isolated: false, blocked: false, paused: false })
      // Kept for this call: a resend of the same command (same tokens) takes nothing (fetch.lua).
      const first = tokens(wanted)
      const batch = batches.whole(queue) ? keys.batch(queue, node, first) : undefined
      const script = Effect.andThen(
        // The cluster scheme finds in-progress jobs through `homes`: the queue is there first.
        scheme.registerHomes("fetch", queue),
        Wire.evalScript(wire, Scripts.fetch)(
          {
            queue: keys.queue(queue),
            inProgress: keys.inProgress(queue, node),
            recovered: keys.recovered(queue),
            paused: keys.pausedOf(queue),
            nodes: keys.nodesOf(queue),
            nodeQueues: scheme.scriptNodeQueues(node),
          },
          wanted,
          queue,
          node,
          isolate,
          first,
          suspectFrom,
          batch === undefined ? undefined : { batch, batches: keys.batches(queue, node) },
        ).pipe(run("fetch", Replies.FetchReply)),
      )
      // Taken whole (Batches.ts): the list is read in the same write as the script, right behind
      // it on the connection. Should the read have gone first (the script was loaded again after
      // NOSCRIPT), it is read again. Jobs taken by an earlier send of this very call are in it too.
      const taken =
        batch === undefined
          ? script
          : Effect.gen(function* () {
              const [reply, listed] = yield* Effect.all([script, readBatch(batch)], { concurrency: 2 })
              const whole = listed.length >= reply[4] ? listed : yield* readBatch(batch)
              if (whole.length === 0) return reply
              batches.opened(queue, node, batch, first, whole.length)
              return [[...whole].reverse(), reply[1], reply[2], reply[3], whole.length] as const
            })
      return taken.pipe(
        Effect.map(([jobs, isolated, blocked, paused]) => {
          batches.fetched(queue, jobs)
          return {
            jobs: jobs.map((bytes, k) => ({ token: String(first + k), raw: Payload.fromBytes(bytes) })),
            isolated: isolated === 1,
            blocked: blocked === 1,
            paused: paused === 1,
          }
        }),
      )
    },
    ack: (queue, node, tokens) =>
      tokens.length === 0
        ? Effect.void
        : Wire.evalScript(wire, Scripts.ack)(
            Keys.inProgressKeys(keys, queue, node),
            tokens.map((token) => batches.of(queue, node, token)),
          ).pipe(
            run("ack", Integer),
            durable("ack", keys.inProgress(queue, node)),
            Effect.andThen(Effect.sync(() => batches.done(queue, node, tokens))),
          ),
    inProgress: (queue, node) =>
      Wire.evalScript(
        wire,
        Scripts.inProgress,
      )(Keys.inProgressKeys(keys, queue, node)).pipe(
        run("inProgress", Replies.Payloads),
        Effect.map((flat) => Replies.byToken(Replies.toInProgress(flat))),
      ),
  }
}

/** A failed job's way out of in-progress: to retry, or to dead. */
const failures: Operations<"retry" | "kill"> = (context) => {
  const { keys, wire, run, send, sendBytes } = context
  return {
    retry: (queue, node, token, payload, at) =>
      OutcomeWrite.reschedule(context, "retry", "retry", { queue, node, token, payload }, at),
    kill: (queue, node, token, payload, at, limits: Store.DeadSetLimits) => {
      const cutoff = at - limits.maxAgeSeconds
      return OutcomeWrite.write(
        context,
        "kill",
        "dead",
        { queue, node, token, payload },
        (dead, settled) =>
          Wire.evalScript(wire, Scripts.kill)(
            { ...Keys.inProgressKeys(keys, queue, node), set: dead },
            settled,
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
  }
}

/** In-progress jobs back to their queue: this node's at shutdown, a dead node's at recovery. */
const requeues: Operations<"requeueInProgress" | "recoverBatch" | "forgetRecovery" | "requeueOrphans"> = ({
  keys,
  scheme,
  redis,
  wire,
  run,
  sendBytes,
  batches,
}) => ({
  requeueInProgress: Effect.fn("RedisStore.requeueInProgress")(function* (queue: string, node: string) {
    let total = 0
    while (true) {
      const moved = yield* redis
        .eval(Scripts.requeueInProgress)(
          { ...Keys.inProgressKeys(keys, queue, node), queue: keys.queue(queue) },
          RequeueBatchSize,
          queue,
          scheme.channel,
        )
        .pipe(
          run("requeueInProgress", Integer),
          Effect.tap((moved) => scheme.publishAfter("requeueInProgress", `work:${queue}`, moved > 0)),
        )
      total += moved
      // The first call put every batch list's jobs back into the entries.
      batches.forget(queue, node)
      if (moved < RequeueBatchSize) return total
    }
  }),
  recoverBatch: (queue, node, maxRecoveries) =>
    Wire.evalScript(wire, Scripts.recoverInProgress)(
      [keys.inProgress(queue, node), keys.queue(queue), keys.recovered(queue), keys.batches(queue, node)],
      RequeueBatchSize,
      queue,
      scheme.channel,
      maxRecoveries,
      RecoveryMemorySeconds,
    ).pipe(
      run("recoverBatch", Replies.RecoverReply),
      Effect.tap(([taken, poisoned]) =>
        scheme.publishAfter("recoverBatch", `work:${queue}`, taken > poisoned.length / 2),
      ),
      Effect.map(([taken, poisoned]) => ({ taken, poisoned: Replies.toInProgress(poisoned) })),
    ),
  forgetRecovery: (queue, raw) =>
    sendBytes(Integer)("forgetRecovery", "HDEL", keys.recovered(queue), toWire(raw)).pipe(Effect.asVoid),
  requeueOrphans: (queue, node, tokens) =>
    tokens.length === 0
      ? Effect.succeed(0)
      : Wire.evalScript(wire, Scripts.requeueOrphans)(
          { ...Keys.inProgressKeys(keys, queue, node), queue: keys.queue(queue) },
          queue,
          scheme.channel,
          tokens,
        ).pipe(
          run("requeueOrphans", Integer),
          // The script put every batch list's jobs back into the entries.
          Effect.tap(() => Effect.sync(() => batches.forget(queue, node))),
          Effect.tap((moved) => scheme.publishAfter("requeueOrphans", `work:${queue}`, moved > 0)),
        ),
})

export const make: Operations<
  | "enqueue"
  | "fetch"
  | "ack"
  | "inProgress"
  | "retry"
  | "kill"
  | "requeueInProgress"
  | "recoverBatch"
  | "forgetRecovery"
  | "requeueOrphans"
> = (context) => ({ ...flow(context), ...failures(context), ...requeues(context) })
