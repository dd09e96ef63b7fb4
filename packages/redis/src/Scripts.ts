/**
 * The Lua scripts of `lua/`, one typed descriptor each. Effect's `Redis.eval` (scripts without
 * payloads) and `Wire.evalScript` (scripts whose arguments or replies are payloads, as bytes) call a
 * script by SHA and load it again when Redis answers NOSCRIPT (after a restart or SCRIPT FLUSH).
 * Each script's header documents its KEYS, ARGV and reply. Their text comes from
 * `luaSources.ts`, generated from `lua/` by `npm run build:lua`: an installed package reads no files.
 */
import * as Redis from "effect/persistence/Redis"
import * as Lua from "./luaSources.ts"

/** A payload as sent: its text, or its exact bytes (Payload's binary form turned back into bytes). */
type Payload = string | Uint8Array

export const enqueue = Redis.script(
  (
    keys: { queue: string; token: string; queues: string | undefined },
    queue: string,
    channel: string,
    tokenSeconds: number,
    payloads: ReadonlyArray<Payload>,
  ) => [...optional([keys.queue, keys.token], keys.queues), queue, channel, tokenSeconds, ...payloads],
  { lua: Lua.enqueue, numberOfKeys: (keys) => (keys.queues === undefined ? 2 : 3) },
).withReturnType<number>()

export const fetch = Redis.script(
  (
    keys: {
      queue: string
      inProgress: string
      recovered: string
      /** The set that holds the queue's name while it is paused. */
      paused: string
      /** Nodes that may hold in-progress jobs (of this queue, in the cluster key scheme). */
      nodes: string
      /** Queues where the node holds in-progress jobs; the cluster key scheme has none. */
      nodeQueues: string | undefined
    },
    count: number,
    queue: string,
    node: string,
    isolate: boolean,
    /** The token of the first job taken; the next ones follow it (see fetch.lua). */
    firstToken: number,
    /** Recoveries from which a job is a suspect and runs alone. */
    suspectFrom: number,
    /** Take the jobs whole into this batch list, counted in `batches` (see fetch.lua). */
    whole?: { readonly batch: string; readonly batches: string },
  ) => [
    keys.queue,
    keys.inProgress,
    keys.recovered,
    keys.paused,
    ...optional([keys.nodes], keys.nodeQueues),
    count,
    queue,
    node,
    isolate ? 1 : 0,
    firstToken,
    suspectFrom,
    ...(whole === undefined ? [] : [whole.batch, whole.batches]),
  ],
  { lua: Lua.fetch, numberOfKeys: (keys) => (keys.nodeQueues === undefined ? 5 : 6) },
).withReturnType<readonly [ReadonlyArray<Uint8Array>, number, number, number, number]>()

/** A job's token and the batch list it was taken whole into ('' when it was not). */
export type Settled = readonly [token: string, batch: string]

export const ack = Redis.script(
  (keys: { inProgress: string; batches: string }, jobs: ReadonlyArray<Settled>) => [
    keys.inProgress,
    keys.batches,
    ...jobs.flat(),
  ],
  { lua: Lua.ack, numberOfKeys: 2 },
).withReturnType<number>()

export const inProgress = Redis.script(
  (keys: { inProgress: string; batches: string }) => [keys.inProgress, keys.batches],
  { lua: Lua.inProgress, numberOfKeys: 2 },
).withReturnType<ReadonlyArray<Uint8Array>>()

export const retry = Redis.script(
  (
    keys: { inProgress: string; set: string; batches: string },
    [token, batch]: Settled,
    payload: Payload,
    at: number,
    channel: string,
  ) => [keys.inProgress, keys.set, keys.batches, token, payload, at, channel, batch],
  { lua: Lua.retry, numberOfKeys: 3 },
).withReturnType<number>()

export const kill = Redis.script(
  (
    keys: { inProgress: string; set: string; batches: string },
    [token, batch]: Settled,
    payload: Payload,
    at: number,
    maxJobs: number,
    cutoff: number,
  ) => [keys.inProgress, keys.set, keys.batches, token, payload, at, maxJobs, cutoff, batch],
  { lua: Lua.kill, numberOfKeys: 3 },
).withReturnType<number>()

export const requeueInProgress = Redis.script(
  (keys: { inProgress: string; queue: string; batches: string }, batch: number, queue: string, channel: string) => [
    keys.inProgress,
    keys.queue,
    keys.batches,
    batch,
    queue,
    channel,
  ],
  { lua: Lua.requeueInprogress, numberOfKeys: 3 },
).withReturnType<number>()

/** One member to move: to the queue at `index` of the call's queue keys (1-based), or 0 for dead. */
export interface PromoteMove {
  readonly raw: Payload
  readonly payload: Payload
  readonly queue: string
  readonly index: number
}

export const promote = Redis.script(
  (
    keys: { set: string; dead: string; queues: ReadonlyArray<string>; registry: string | undefined },
    channel: string,
    deadAt: number,
    moves: ReadonlyArray<PromoteMove>,
  ) => [
    ...optional([keys.set, keys.dead, ...keys.queues], keys.registry),
    channel,
    deadAt,
    keys.queues.length,
    ...moves.flatMap(({ raw, payload, queue, index }) => [raw, payload, queue, index]),
  ],
  { lua: Lua.promote, numberOfKeys: (keys) => 2 + keys.queues.length + (keys.registry === undefined ? 0 : 1) },
).withReturnType<readonly [number, ReadonlyArray<Uint8Array>]>()

export const stats = Redis.script(
  (keys: ReadonlyArray<string>, processed: number, failed: number, tokenSeconds: number) => [
    ...keys,
    processed,
    failed,
    tokenSeconds,
  ],
  { lua: Lua.stats, numberOfKeys: 5 },
).withReturnType<number>()

export const heartbeat = Redis.script(
  (
    keys: ReadonlyArray<string>,
    node: string,
    ttlMillis: number,
    beat: number,
    info: string,
    busy: number,
    rssKb: number,
    work: ReadonlyArray<string>,
  ) => [...keys, node, ttlMillis, beat, info, busy, rssKb, ...work],
  { lua: Lua.heartbeat, numberOfKeys: 6 },
).withReturnType<number>()

export const recoverInProgress = Redis.script(
  (
    keys: ReadonlyArray<string>,
    batch: number,
    queue: string,
    channel: string,
    maxRecoveries: number,
    keepSeconds: number,
  ) => [...keys, batch, queue, channel, maxRecoveries, keepSeconds],
  { lua: Lua.recoverInprogress, numberOfKeys: 4 },
).withReturnType<readonly [number, ReadonlyArray<Uint8Array>]>()

export const requeueOrphans = Redis.script(
  (
    keys: { inProgress: string; queue: string; batches: string },
    queue: string,
    channel: string,
    tokens: ReadonlyArray<string>,
  ) => [keys.inProgress, keys.queue, keys.batches, queue, channel, ...tokens],
  { lua: Lua.requeueOrphans, numberOfKeys: 3 },
).withReturnType<number>()

export const deregisterNode = Redis.script(
  (
    keys: ReadonlyArray<string>,
    node: string,
    /** In-progress entries the script looks at itself: queue name and key. */
    inProgress: ReadonlyArray<readonly [string, string]>,
    /** The node holds in-progress jobs the script cannot see (another slot). */
    keptElsewhere: boolean,
  ) => [
    ...keys,
    ...inProgress.map(([, key]) => key),
    node,
    inProgress.length,
    ...inProgress.map(([queue]) => queue),
    keptElsewhere ? 1 : 0,
  ],
  { lua: Lua.deregisterNode, numberOfKeys: (keys, _node, inProgress) => keys.length + inProgress.length },
).withReturnType<number>()

export const deregisterQueue = Redis.script(
  (keys: { inProgress: string; nodes: string }, node: string) => [keys.inProgress, keys.nodes, node],
  { lua: Lua.deregisterQueue, numberOfKeys: 2 },
).withReturnType<number>()

/** `keys` followed by `last` when there is one (a script's optional last key). */
const optional = (keys: ReadonlyArray<string>, last: string | undefined): ReadonlyArray<string> =>
  last === undefined ? keys : [...keys, last]

export const periodicClaim = Redis.script(
  (
    keys: { state: string; queue: string; queues: string | undefined },
    queue: string,
    channel: string,
    stateSeconds: number,
    mode: "tick" | "run",
    at: number,
    payload: Payload,
  ) => [...optional([keys.state, keys.queue], keys.queues), queue, channel, stateSeconds, mode, at, payload],
  { lua: Lua.periodicClaim, numberOfKeys: (keys) => (keys.queues === undefined ? 2 : 3) },
).withReturnType<number>()

export const periodicDeclare = Redis.script(
  (
    keys: { registry: string; seen: string },
    now: number,
    cutoff: number,
    records: ReadonlyArray<readonly [string, string]>,
  ) => [keys.registry, keys.seen, now, cutoff, ...records.flat()],
  { lua: Lua.periodicDeclare, numberOfKeys: 2 },
).withReturnType<number>()

export const uniquePush = Redis.script(
  (
    keys: { lock: string; waiting: string; target: string; queues: string | undefined },
    jid: string,
    ttlMillis: number,
    payload: Payload,
    at: number | undefined,
    debounce: boolean,
    queue: string,
    channel: string,
  ) => [
    ...optional([keys.lock, keys.waiting, keys.target], keys.queues),
    jid,
    ttlMillis,
    payload,
    at === undefined ? "" : at,
    debounce ? "1" : "0",
    queue,
    channel,
  ],
  { lua: Lua.uniquePush, numberOfKeys: (keys) => (keys.queues === undefined ? 3 : 4) },
).withReturnType<readonly [number, string]>()

export const uniqueRelease = Redis.script(
  (keys: { lock: string; waiting: string }, jid: string) => [keys.lock, keys.waiting, jid],
  { lua: Lua.uniqueRelease, numberOfKeys: 2 },
).withReturnType<number>()

export const metrics = Redis.script(
  (
    keys: { token: string; minutes: ReadonlyArray<string>; histograms: ReadonlyArray<string> },
    tokenSeconds: number,
    keptSeconds: number,
    fields: ReadonlyArray<ReadonlyArray<string | number>>,
  ) => [
    keys.token,
    ...keys.minutes,
    ...keys.histograms,
    tokenSeconds,
    keptSeconds,
    keys.minutes.length,
    ...fields.flatMap((pairs) => [pairs.length / 2, ...pairs]),
  ],
  { lua: Lua.metrics, numberOfKeys: (keys) => 1 + keys.minutes.length + keys.histograms.length },
).withReturnType<number>()

export const metricsRead = Redis.script(
  (keys: { minutes: ReadonlyArray<string>; histograms: ReadonlyArray<string> }, buckets: number) => [
    ...keys.minutes,
    ...keys.histograms,
    keys.minutes.length,
    buckets,
  ],
  { lua: Lua.metricsRead, numberOfKeys: (keys) => keys.minutes.length + keys.histograms.length },
).withReturnType<ReadonlyArray<ReadonlyArray<string | number>>>()

export const limitRate = Redis.script(
  (window: string, limit: number, perMillis: number, member: string) => [window, limit, perMillis, member],
  { lua: Lua.limitRate, numberOfKeys: 1 },
).withReturnType<[number, number]>()

export const limitAcquire = Redis.script(
  (holds: string, limit: number, holder: string, node: string) => [holds, limit, holder, node],
  { lua: Lua.limitAcquire, numberOfKeys: 1 },
).withReturnType<number>()

export const limitReleaseNode = Redis.script((holds: string, node: string) => [holds, node], {
  lua: Lua.limitReleaseNode,
  numberOfKeys: 1,
}).withReturnType<number>()
