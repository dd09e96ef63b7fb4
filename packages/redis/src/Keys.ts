/**
 * Redis key names: Sidekiq's data model plus Verk's reliability keys, under an optional namespace
 * (`<namespace>:` before every key, as Sidekiq's redis-namespace does; none by default).
 */
import type { Store } from "@verk/core"

export const make = (namespace?: string) => {
  const prefix = namespace === undefined || namespace === "" ? "" : `${namespace}:`
  return {
    prefix,
    queues: `${prefix}queues`,
    queue: (name: string) => `${prefix}queue:${name}`,
    set: (name: Store.SortedSetName) => `${prefix}${name}`,
    inProgress: (queue: string, node: string) => `${prefix}inprogress:${queue}:${node}`,
    nodes: `${prefix}verk_nodes`,
    node: (node: string) => `${prefix}verk:node:${node}`,
    nodeQueues: (node: string) => `${prefix}verk:node:${node}:queues`,
    recovered: `${prefix}verk:recovered`,
    /** Sidekiq's process registry. */
    processes: `${prefix}processes`,
    process: (identity: string) => `${prefix}${identity}`,
    processWork: (identity: string) => `${prefix}${identity}:work`,
    /** Sidekiq 6 reads running jobs here; 7 and later from `:work`. */
    processWorkers: (identity: string) => `${prefix}${identity}:workers`,
    paused: `${prefix}verk:paused`,
    /** A call's token (enqueue, stats): a script that finds it set ran already and does nothing. */
    call: (token: string) => `${prefix}verk:call:${token}`,
    /** Pub/sub channel of store notifications (not a key, but namespaced like one). */
    notify: `${prefix}verk:notify`,
    stat: (name: "processed" | "failed", day?: string) =>
      day === undefined ? `${prefix}stat:${name}` : `${prefix}stat:${name}:${day}`,
  }
}

export type Keys = ReturnType<typeof make>
