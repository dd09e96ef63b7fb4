/**
 * The store in process memory, for users' tests and for running without Redis. Every operation
 * is synchronous, so each is atomic the way a Lua script is in Redis. It keeps Redis's semantics
 * (list ends, set scores, trimming) so that it passes the same conformance suite.
 */
import { Buffer } from "node:buffer"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Stream from "effect/Stream"
import * as MemoryCancel from "./internal/MemoryCancel.ts"
import * as MemoryLimits from "./internal/MemoryLimits.ts"
import * as MemoryMetrics from "./internal/MemoryMetrics.ts"
import * as MemoryPeriodic from "./internal/MemoryPeriodic.ts"
import * as MemoryResults from "./internal/MemoryResults.ts"
import * as MemoryUnique from "./internal/MemoryUnique.ts"
import * as Payload from "./Payload.ts"
import * as Store from "./Store.ts"
import {
  type DeadSetLimits,
  EnqueueTokenSeconds,
  type Heartbeat,
  type InProgressJob,
  type JobStoreShape,
  type NodeStoreShape,
  type Notification,
  type NotificationStoreShape,
  type Promotion,
  type ResultNotice,
  type ScoredPayload,
  type SetStoreShape,
  type SortedSetName,
  type StoreShape,
} from "./Store.ts"

/**
 * A Redis list. Index 0 of `items` is the right end (the oldest job, next to run); the end of the
 * array is the left end, where LPUSH adds.
 */
class List {
  // The items before `head` are popped: RPOP moves `head` rather than shifting the array (a drain
  // of a long queue would otherwise copy the queue for every job); they are dropped once they
  // outnumber the rest.
  #all: Array<string> = []
  #head = 0
  get length(): number {
    return this.#all.length - this.#head
  }
  #compact(threshold: number) {
    if (this.#head > threshold) {
      this.#all.splice(0, this.#head)
      this.#head = 0
    }
  }
  lpush(values: ReadonlyArray<string>) {
    for (const value of values) this.#all.push(value)
  }
  rpush(values: ReadonlyArray<string>) {
    this.#compact(0)
    this.#all.unshift(...[...values].reverse())
  }
  rpop(count: number): Array<string> {
    const popped = this.#all.slice(this.#head, this.#head + count)
    this.#head += popped.length
    this.#compact(this.length)
    return popped
  }
  /** LREM with a count of 1: the first occurrence from the left. */
  remove(value: string): boolean {
    const index = this.#all.lastIndexOf(value)
    if (index < this.#head) return false
    this.#all.splice(index, 1)
    return true
  }
  /** LRANGE: index 0 is the left end. */
  range(start: number, stop: number): Array<string> {
    const leftFirst = this.#all.slice(this.#head).reverse()
    return sliceRedis(leftFirst, start, stop)
  }
}

/** Redis's inclusive, negative-friendly index range. */
const sliceRedis = <A>(items: ReadonlyArray<A>, start: number, stop: number): Array<A> => {
  const length = items.length
  const from = start < 0 ? Math.max(0, length + start) : start
  const to = stop < 0 ? length + stop : Math.min(stop, length - 1)
  return from > to ? [] : items.slice(from, to + 1)
}

class SortedSet {
  members = new Map<string, number>()
  add(member: string, score: number) {
    this.members.set(member, score)
  }
  remove(member: string): boolean {
    return this.members.delete(member)
  }
  /** Members by ascending score, ties by member, as Redis orders them. */
  sorted(): Array<ScoredPayload> {
    return [...this.members]
      .map(([payload, score]) => ({ payload, score }))
      .sort((a, b) => a.score - b.score || (a.payload < b.payload ? -1 : a.payload > b.payload ? 1 : 0))
  }
  /**
   * A scan step: members after the cursor's one in member order (so that removals never make it
   * skip one), the cursor naming the last member given.
   */
  scan(cursor: string, count: number, contains: string | undefined): Store.SetScanStep {
    const after = cursor === "0" ? undefined : Buffer.from(cursor.slice(1), "base64url").toString("utf8")
    const names = [...this.members.keys()].filter((member) => after === undefined || member > after).sort()
    const step = names.slice(0, Math.max(1, count))
    const needle = contains === undefined ? undefined : Buffer.from(contains, "utf8")
    const entries = step
      .filter((member) => needle === undefined || Buffer.from(Payload.toBytes(member)).includes(needle))
      .map((payload) => ({ payload, score: this.members.get(payload) ?? 0 }))
    const last = step.at(-1)
    const done = last === undefined || step.length === names.length
    return { cursor: done ? "0" : `m${Buffer.from(last, "utf8").toString("base64url")}`, entries }
  }
  trim(limits: DeadSetLimits, now: number) {
    const cutoff = now - limits.maxAgeSeconds
    for (const [member, score] of this.members) if (score <= cutoff) this.members.delete(member)
    const excess = this.members.size - limits.maxJobs
    if (excess > 0) for (const { payload } of this.sorted().slice(0, excess)) this.members.delete(payload)
  }
}

/** Jobs a recovery moves per batch (any size works; the Redis store's is the same). */
const RecoveryBatchSize = 100

/** The data of one in-memory store, and the steps its operations share. */
type State = ReturnType<typeof makeState>

const makeState = (notices: PubSub.PubSub<Notification>) => {
  const queueNames = new Set<string>()
  const queues = new Map<string, List>()
  /** `<queue>\0<node>` → token → payload, oldest first (tokens are given in increasing order). */
  const inProgress = new Map<string, Map<string, string>>()
  let nextToken = 0
  const sets: Record<SortedSetName, SortedSet> = {
    schedule: new SortedSet(),
    retry: new SortedSet(),
    dead: new SortedSet(),
  }
  const queue = (name: string): List => {
    let list = queues.get(name)
    if (list === undefined) {
      list = new List()
      queues.set(name, list)
    }
    return list
  }
  const inProgressOf = (name: string, node: string): Map<string, string> => {
    const key = `${name}\u0000${node}`
    let entries = inProgress.get(key)
    if (entries === undefined) {
      entries = new Map()
      inProgress.set(key, entries)
    }
    return entries
  }
  return {
    queueNames,
    queues,
    sets,
    paused: new Set<string>(),
    nodes: new Set<string>(),
    nodeQueues: new Map<string, Set<string>>(),
    /** node → epoch millis when its heartbeat expires */
    heartbeats: new Map<string, number>(),
    /** node → its last heartbeat, for `processes`, and when that entry expires (epoch millis) */
    registry: new Map<string, { readonly beat: Heartbeat; readonly expiresAt: number }>(),
    /** raw payload → times recovered from a dead node */
    recoveries: new Map<string, number>(),
    counters: new Map<string, number>(),
    /** Per-class execution metrics by minute. */
    metrics: MemoryMetrics.make(),
    /** Enqueue tokens → when they are forgotten (epoch millis), oldest first. */
    tokens: new Map<string, number>(),
    notices,
    notify: (notice: Notification) => PubSub.publishUnsafe(notices, notice),
    newToken: () => String(nextToken++),
    queue,
    inProgressOf,
    /** Adds `payloads` at the left end of `name`, and remembers the queue's name. */
    push: (name: string, payloads: ReadonlyArray<string>) => {
      if (payloads.length === 0) return
      queueNames.add(name)
      queue(name).lpush(payloads)
    },
  }
}

/** The newest `count` entries, newest first: pushed to a queue's right end in this order, the oldest runs first. */
const newest = (entries: Map<string, string>, count: number): Array<InProgressJob> =>
  [...entries]
    .slice(-count)
    .reverse()
    .map(([token, raw]) => ({ token, raw }))

/** Whether enqueue `token` is new at `now`; remembers it. Forgets expired tokens on the way. */
const claimToken = (tokens: Map<string, number>, token: string, now: number): boolean => {
  for (const [old, expires] of tokens) {
    if (expires > now) break
    tokens.delete(old)
  }
  if (tokens.has(token)) return false
  tokens.set(token, now + EnqueueTokenSeconds * 1000)
  return true
}

/** A job's way in, its fetch and its outcome writes. */
const jobFlow = (
  state: State,
): Pick<JobStoreShape, "enqueue" | "addScheduled" | "fetch" | "ack" | "retry" | "kill" | "inProgress"> => {
  const { sets, recoveries, nodes, nodeQueues, tokens, notify, newToken, queue, inProgressOf, push, paused } = state
  return {
    enqueue: (name, payloads, token) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          if (payloads.length === 0 || (token !== undefined && !claimToken(tokens, `${name}\n${token}`, now))) return
          push(name, payloads)
          notify({ _tag: "Work", queue: name })
        }),
      ),
    addScheduled: (set, entries) =>
      Effect.sync(() => {
        for (const { payload, score } of entries) sets[set].add(payload, score)
        if (entries.length > 0) notify({ _tag: "Scheduled" })
      }),
    fetch: (name, node, count, isolate = false, suspectFrom = 1) =>
      Effect.sync(() => {
        if (paused.has(name)) return { jobs: [], isolated: false, blocked: false, paused: true }
        const jobs: Array<InProgressJob> = []
        let isolated = false
        let blocked = false
        const list = queue(name)
        while (jobs.length < count) {
          const [job] = list.rpop(1)
          if (job === undefined) break
          if ((recoveries.get(job) ?? 0) >= suspectFrom) {
            if (jobs.length === 0 && isolate) {
              jobs.push({ token: newToken(), raw: job })
              isolated = true
            } else {
              list.rpush([job])
              blocked = true
            }
            break
          }
          jobs.push({ token: newToken(), raw: job })
        }
        if (jobs.length > 0) {
          const entries = inProgressOf(name, node)
          for (const { token, raw } of jobs) entries.set(token, raw)
          nodes.add(node)
          nodeQueues.set(node, (nodeQueues.get(node) ?? new Set()).add(name))
        }
        return { jobs, isolated, blocked, paused: false }
      }),
    ack: (name, node, tokens) =>
      Effect.sync(() => {
        const entries = inProgressOf(name, node)
        for (const token of tokens) entries.delete(token)
      }),
    retry: (name, node, token, payload, at) =>
      Effect.sync(() => {
        sets.retry.add(payload, at)
        inProgressOf(name, node).delete(token)
        notify({ _tag: "Scheduled" })
      }),
    kill: (name, node, token, payload, at, limits) =>
      Effect.sync(() => {
        sets.dead.add(payload, at)
        sets.dead.trim(limits, at)
        inProgressOf(name, node).delete(token)
      }),
    inProgress: (name, node) =>
      Effect.sync(() => [...inProgressOf(name, node)].map(([token, raw]) => ({ token, raw }))),
  }
}

/** Jobs going back to their queue: a node stopping, a dead node's jobs, orphans. */
const jobRecovery = (
  state: State,
): Pick<JobStoreShape, "requeueInProgress" | "recoverBatch" | "forgetRecovery" | "requeueOrphans"> => {
  const { recoveries, notify, queue, inProgressOf } = state
  return {
    requeueInProgress: (name, node) =>
      Effect.sync(() => {
        const entries = inProgressOf(name, node)
        const jobs = newest(entries, entries.size).map(({ raw }) => raw)
        entries.clear()
        queue(name).rpush(jobs)
        if (jobs.length > 0) notify({ _tag: "Work", queue: name })
        return jobs.length
      }),
    recoverBatch: (name, node, maxRecoveries) =>
      Effect.sync(() => {
        const entries = inProgressOf(name, node)
        const jobs = newest(entries, RecoveryBatchSize)
        const requeue: Array<string> = []
        const poisoned: Array<InProgressJob> = []
        for (const job of jobs) {
          const count = (recoveries.get(job.raw) ?? 0) + 1
          recoveries.set(job.raw, count)
          // A poison pill stays in the entries, for the caller to kill with its reason.
          if (count > maxRecoveries) poisoned.push(job)
          else {
            requeue.push(job.raw)
            entries.delete(job.token)
          }
        }
        queue(name).rpush(requeue)
        if (requeue.length > 0) notify({ _tag: "Work", queue: name })
        return { taken: jobs.length, poisoned }
      }),
    forgetRecovery: (_queue, raw) => Effect.sync(() => void recoveries.delete(raw)),
    requeueOrphans: (name, node, tokens) =>
      Effect.sync(() => {
        const entries = inProgressOf(name, node)
        const moved: Array<string> = []
        for (const token of tokens) {
          const raw = entries.get(token)
          if (raw !== undefined && entries.delete(token)) moved.push(raw)
        }
        queue(name).rpush(moved)
        if (moved.length > 0) notify({ _tag: "Work", queue: name })
        return moved.length
      }),
  }
}

const setStore = (state: State): SetStoreShape => {
  const { queueNames, queues, sets, counters, metrics, notify, queue, push } = state
  const bump = (key: string, by: number) => counters.set(key, (counters.get(key) ?? 0) + by)
  return {
    earliest: (set) => Effect.sync(() => sets[set].sorted()[0]?.score),
    due: (set, now, limit) =>
      Effect.sync(() =>
        sets[set]
          .sorted()
          .filter(({ score }) => score <= now)
          .slice(0, Math.max(0, limit))
          .map(({ payload }) => payload),
      ),
    promote: (set, promotions: ReadonlyArray<Promotion>, deadAt) =>
      Effect.sync(() => {
        let moved = 0
        const woken = new Set<string>()
        for (const { raw, payload, queue: target } of promotions) {
          if (!sets[set].remove(raw)) continue
          if (target === undefined) sets.dead.add(payload, deadAt)
          else {
            push(target, [payload])
            woken.add(target)
          }
          moved++
        }
        for (const name of woken) notify({ _tag: "Work", queue: name })
        return moved
      }),
    incrementStats: (processed, failed, day) =>
      Effect.sync(() => {
        bump("processed", processed)
        bump(`processed:${day}`, processed)
        bump("failed", failed)
        bump(`failed:${day}`, failed)
      }),
    stats: (day) =>
      Effect.sync(() => {
        const suffix = day === undefined ? "" : `:${day}`
        return {
          processed: counters.get(`processed${suffix}`) ?? 0,
          failed: counters.get(`failed${suffix}`) ?? 0,
        }
      }),
    recordMetrics: (batch) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => metrics.record(batch, now))),
    metrics: (minutes, className) => Effect.sync(() => metrics.read(minutes, className)),
    queues: Effect.sync(() => [...queueNames].sort()),
    queueSize: (name) => Effect.sync(() => queues.get(name)?.length ?? 0),
    queueRange: (name, start, stop) => Effect.sync(() => queue(name).range(start, stop)),
    deleteFromQueue: (name, raw) => Effect.sync(() => queue(name).remove(raw)),
    clearQueue: (name) =>
      Effect.sync(() => {
        queues.delete(name)
        queueNames.delete(name)
      }),
    setSize: (set) => Effect.sync(() => sets[set].members.size),
    setRange: (set, start, stop) => Effect.sync(() => sliceRedis(sets[set].sorted(), start, stop)),
    scanSet: (set, cursor, count, contains) => Effect.sync(() => sets[set].scan(cursor, count, contains)),
    setAt: (set, score, offset, limit) =>
      Effect.sync(() =>
        sets[set]
          .sorted()
          .filter((member) => member.score === score)
          .slice(offset, offset + Math.max(0, limit)),
      ),
    deleteFromSet: (set, raw) => Effect.sync(() => sets[set].remove(raw)),
    clearSet: (set) => Effect.sync(() => sets[set].members.clear()),
  }
}

const nodeStore = (state: State): NodeStoreShape => {
  const { nodes, nodeQueues, heartbeats, registry, inProgressOf } = state
  return {
    heartbeat: (beat) =>
      Effect.sync(() => {
        heartbeats.set(beat.node, beat.now + beat.ttlMillis)
        nodes.add(beat.node)
        // Sidekiq's registry entry outlives a missed beat: at least 60 s, as the Redis store keeps it.
        registry.set(beat.node, { beat, expiresAt: beat.now + Math.max(60_000, beat.ttlMillis) })
      }),
    nodes: Effect.sync(() => [...nodes].sort()),
    processes: Effect.map(Clock.currentTimeMillis, (now) =>
      [...registry]
        .filter(([, entry]) => entry.expiresAt > now)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([identity, { beat }]) => ({
          identity,
          info: beat.info,
          busy: beat.busy,
          beat: beat.now / 1000,
          rss: beat.rss,
          work: beat.work,
        })),
    ),
    isAlive: (node, now) => Effect.sync(() => (heartbeats.get(node) ?? Number.NEGATIVE_INFINITY) > now),
    nodeQueues: (node) => Effect.sync(() => [...(nodeQueues.get(node) ?? [])].sort()),
    deregister: (node) =>
      Effect.sync(() => {
        const holding = [...(nodeQueues.get(node) ?? [])].filter((name) => inProgressOf(name, node).size > 0)
        if (holding.length > 0) {
          nodeQueues.set(node, new Set(holding))
          return false
        }
        heartbeats.delete(node)
        registry.delete(node)
        nodeQueues.delete(node)
        nodes.delete(node)
        return true
      }),
  }
}

const notificationStore = (state: State): NotificationStoreShape => {
  const { notices, paused, notify } = state
  return {
    notifications: Stream.fromPubSub(notices),
    setPaused: (name, isPaused) =>
      Effect.sync(() => {
        if (isPaused) paused.add(name)
        else paused.delete(name)
        notify({ _tag: "Pause", queue: name })
      }),
    pausedQueues: Effect.sync(() => new Set(paused)),
  }
}

/**
 * A fresh, empty in-memory store: one state, and the operations of each role over it. Its
 * notifications reach every stream opened on it, from the moment each opens.
 */
export const make: Effect.Effect<StoreShape> = Effect.map(
  Effect.all([PubSub.unbounded<Notification>(), PubSub.unbounded<ResultNotice>()]),
  ([notices, resultNotices]) => {
    const state = makeState(notices)
    return {
      ...MemoryResults.make(resultNotices),
      ...jobFlow(state),
      ...jobRecovery(state),
      ...setStore(state),
      ...nodeStore(state),
      ...notificationStore(state),
      ...MemoryPeriodic.make(state),
      ...MemoryUnique.make({ ...state, schedule: state.sets.schedule }),
      ...MemoryCancel.make(state),
      ...MemoryLimits.make({ ...state, schedule: state.sets.schedule }),
    }
  },
)

/** A fresh, empty in-memory store: the aggregate `Store` and its roles (see `Store.layer`). */
export const layer: Layer.Layer<Store.Services> = Store.layer(make)
