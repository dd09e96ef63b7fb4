/**
 * Redis key names, in one of two schemes, under an optional namespace (`<namespace>:` before every
 * key, as Sidekiq's redis-namespace does; none by default).
 *
 * - `sidekiq` (the default): Sidekiq's data model plus Verk's reliability keys, so Ruby Sidekiq and
 *   this library share one Redis.
 * - `cluster`: every key of a queue carries the queue's hash tag (`queue:{mail}`,
 *   `inprogress:{mail}:<node>`, `retry:{mail}`, `verk:nodes:{mail}`...), so queues spread over a Redis Cluster's shards
 *   and each script touches one slot; the registries every node shares (queues, nodes, processes,
 *   stats, pauses) carry the tag `{verk}`. The sorted sets are per queue: a member lives in the sets
 *   of its home queue (`home`), and the store reads a set as the union of its homes'. Sidekiq cannot
 *   read this scheme.
 */
import { Job, Settings, type Store } from "@verk/core"

export type Scheme = "sidekiq" | "cluster"

export interface Keys {
  readonly scheme: Scheme
  readonly prefix: string
  /** Set of every queue name pushed to. */
  readonly queues: string
  readonly queue: (queue: string) => string
  readonly inProgress: (queue: string, node: string) => string
  /** List: the payloads of one fetch taken whole (see fetch.lua), newest first; `first` is its first token. */
  readonly batch: (queue: string, node: string, first: number) => string
  /** Hash: a node's batch lists of a queue → how many of their jobs are still in progress. */
  readonly batches: (queue: string, node: string) => string
  /** A sorted set; in the cluster scheme, the part of it that belongs to queue `home`. */
  readonly set: (name: Store.SortedSetName, home: string) => string
  /** Hash: raw payload → times it came back from a dead node (per queue in the cluster scheme). */
  readonly recovered: (queue: string) => string
  /** An enqueue call's token on a queue (in the cluster scheme, in the queue's slot). */
  readonly enqueueToken: (queue: string, token: string) => string
  /** A unique job's lock (its holder's jid), in its queue's slot (cluster scheme). */
  readonly uniqueLock: (queue: string, digest: string) => string
  /** A debounced job's payload while it waits in `schedule`, beside its lock. */
  readonly uniqueWaiting: (queue: string, digest: string) => string
  /** A stats call's token, in the slot of the counters. */
  readonly statsToken: (token: string) => string
  /**
   * Cluster scheme: the queues whose keys may hold more than their list (set members, in-progress
   * jobs), written before any such key; it only grows.
   */
  readonly homes: string
  /** Nodes that may hold in-progress jobs, registered by heartbeats (and fetches, in Sidekiq's scheme). */
  readonly nodes: string
  /** Nodes that may hold in-progress jobs of `queue`, registered by fetches: `nodes` in Sidekiq's scheme. */
  readonly nodesOf: (queue: string) => string
  readonly node: (node: string) => string
  readonly nodeQueues: (node: string) => string
  /** Sidekiq's process registry. */
  readonly processes: string
  readonly process: (identity: string) => string
  readonly processWork: (identity: string) => string
  /** Sidekiq 6 reads running jobs here; 7 and later from `:work`. */
  readonly processWorkers: (identity: string) => string
  /** Set of the paused queues. */
  readonly paused: string
  /**
   * The set a fetch of `queue` reads to know it is paused (it holds the queue's name when it is):
   * `paused` in Sidekiq's scheme, one in the queue's slot in the cluster scheme.
   */
  readonly pausedOf: (queue: string) => string
  /** Sorted set: cancelled jids, scored by when their marker expires (epoch milliseconds). */
  readonly cancelled: string
  /** Pub/sub channel of store notifications (not a key, but namespaced like one). */
  readonly notify: string
  readonly stat: (name: "processed" | "failed", day?: string) => string
  /** Sidekiq 7's execution metrics of a UTC minute (hash `<class>|p`, `|f`, `|ms`): `j|YYYYMMDD|H:M`. */
  readonly metricsMinute: (minute: number) => string
  /** Sidekiq 7's duration histogram of a class in a UTC minute (BITFIELD of u16): `<class>-DD-HH:M`. */
  readonly metricsHistogram: (className: string, minute: number) => string
  /** Hash: periodic entry name → its record (queue, description), as nodes declare them. */
  readonly periodic: string
  /** Sorted set: periodic entry name, scored by its last declaration (epoch milliseconds). */
  readonly periodicSeen: string
  /** A periodic entry's state (hash); in the cluster scheme in its queue's slot, beside the queue. */
  readonly periodicState: (queue: string, name: string) => string
  /** A job's result record (string, with a TTL); in the cluster scheme in the slot of its jid. */
  readonly result: (jid: string) => string
  /** A rate limit's window (sorted set of starts); in the cluster scheme in a slot of its own. */
  readonly limitRate: (limit: string) => string
  /** A concurrency limit's holders (hash: holder → node); in the cluster scheme in a slot of its own. */
  readonly limitHolds: (limit: string) => string
  /** Set: the concurrency limits `node` may hold slots of (what its recovery frees). */
  readonly nodeLimits: (node: string) => string
}

/** Where a set member of the cluster scheme lives: its job's queue, or `default` when it names none. */
export const homeOf = (raw: string): string => {
  const queue = Job.queueOf(raw)
  return queue !== undefined && Settings.queueNameProblem(queue) === undefined ? queue : DefaultHome
}

/** A node's in-progress entries of a queue and the count of its batch lists, as scripts take them. */
export const inProgressKeys = (keys: Keys, queue: string, node: string) => ({
  inProgress: keys.inProgress(queue, node),
  batches: keys.batches(queue, node),
})

/** Sidekiq's queue for a job that names none. */
export const DefaultHome = "default"

export const make = (namespace?: string, scheme: Scheme = "sidekiq"): Keys => {
  const prefix = namespace === undefined || namespace === "" ? "" : `${namespace}:`
  // The shared registries: plain names in Sidekiq's scheme, one slot in the cluster's.
  const g = scheme === "cluster" ? `${prefix}{verk}:` : prefix
  const tag = scheme === "cluster" ? (queue: string) => `{${queue}}` : (queue: string) => queue
  // A limit's key in the cluster scheme: a slot of its own. A `}` in its name would cut the tag
  // short: the tag then leaves them out, and the whole name follows it.
  const own = (name: string) => {
    if (scheme !== "cluster") return name
    const clean = name.replaceAll("}", "")
    return clean === name ? `{${name}}` : `{${clean}}:${name}`
  }
  return {
    scheme,
    prefix,
    queues: `${g}queues`,
    queue: (name) => `${prefix}queue:${tag(name)}`,
    inProgress: (queue, node) => `${prefix}inprogress:${tag(queue)}:${node}`,
    batch: (queue, node, first) => `${prefix}verk:batch:${tag(queue)}:${node}:${first}`,
    batches: (queue, node) => `${prefix}verk:batches:${tag(queue)}:${node}`,
    set: scheme === "cluster" ? (name, home) => `${prefix}${name}:{${home}}` : (name) => `${prefix}${name}`,
    recovered: scheme === "cluster" ? (queue) => `${prefix}verk:recovered:{${queue}}` : () => `${prefix}verk:recovered`,
    enqueueToken: (queue, token) => `${prefix}verk:call:${tag(queue)}:${token}`,
    uniqueLock: (queue, digest) => `${prefix}verk:unique:${tag(queue)}:${digest}`,
    uniqueWaiting: (queue, digest) => `${prefix}verk:unique:${tag(queue)}:${digest}:waiting`,
    statsToken: (token) => `${g}verk:call:${token}`,
    homes: `${g}verk:homes`,
    nodes: `${g}verk_nodes`,
    nodesOf: scheme === "cluster" ? (queue) => `${prefix}verk:nodes:{${queue}}` : () => `${prefix}verk_nodes`,
    node: (node) => `${g}verk:node:${node}`,
    nodeQueues: (node) => `${g}verk:node:${node}:queues`,
    processes: `${g}processes`,
    process: (identity) => `${g}${identity}`,
    processWork: (identity) => `${g}${identity}:work`,
    processWorkers: (identity) => `${g}${identity}:workers`,
    paused: `${g}verk:paused`,
    pausedOf: scheme === "cluster" ? (queue) => `${prefix}verk:paused:{${queue}}` : () => `${prefix}verk:paused`,
    cancelled: `${g}verk:cancelled`,
    notify: `${g}verk:notify`,
    stat: (name, day) => (day === undefined ? `${g}stat:${name}` : `${g}stat:${name}:${day}`),
    metricsMinute: (minute) => {
      const at = new Date(minute)
      return `${g}j|${at.toISOString().slice(0, 10).replaceAll("-", "")}|${at.getUTCHours()}:${at.getUTCMinutes()}`
    },
    metricsHistogram: (className, minute) => {
      const at = new Date(minute)
      const two = (n: number) => String(n).padStart(2, "0")
      return `${g}${className}-${two(at.getUTCDate())}-${two(at.getUTCHours())}:${at.getUTCMinutes()}`
    },
    periodic: `${g}verk:periodic`,
    periodicSeen: `${g}verk:periodic-seen`,
    periodicState: (queue, name) => `${prefix}verk:periodic:${scheme === "cluster" ? `{${queue}}:` : ""}${name}`,
    result: scheme === "cluster" ? (jid) => `${prefix}verk:result:{${jid}}` : (jid) => `${prefix}verk:result:${jid}`,
    limitRate: (limit) => `${prefix}verk:limit:rate:${own(limit)}`,
    limitHolds: (limit) => `${prefix}verk:limit:concurrency:${own(limit)}`,
    nodeLimits: (node) => `${g}verk:node:${node}:limits`,
  }
}
