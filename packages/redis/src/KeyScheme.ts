/**
 * What the two key schemes (Keys.ts names their keys) do differently, decided here once so that
 * the store's operations read the same for both:
 *
 * - where a sorted-set member lives (`homeOf`, `byHome`, `eachHome`): in Sidekiq's scheme one set;
 *   in the cluster scheme the part of the set of the member's queue (its home), in that queue's
 *   slot, the homes being listed in `homes`;
 * - registries: Sidekiq's scheme's scripts write them atomically with the change; the cluster
 *   scheme's are in another slot, so the store writes them before the keys they describe;
 * - notifications: published inside Sidekiq's scheme's scripts, after the cluster scheme's.
 */
import type { Store } from "@verk/core"
import * as Effect from "effect/Effect"
import type * as Commands from "./Commands.ts"
import * as Keys from "./Keys.ts"

export type KeyScheme = ReturnType<typeof make>

export const make = (keys: Keys.Keys, commands: Commands.Commands) => {
  const { send, count, strings, wire } = commands
  const cluster = keys.scheme === "cluster"

  /** Cluster scheme: registry writes (another slot) that must land before the keys they describe. */
  const register = (operation: string, key: string, ...members: ReadonlyArray<string>) =>
    cluster && members.length > 0 ? Effect.asVoid(send(operation, "SADD", key, ...members)) : Effect.void

  /**
   * A plain PUBLISH on a Redis Cluster reaches the other nodes later over the cluster bus, so
   * notifications from different shards would arrive out of order: the cluster scheme's scripts
   * publish nothing (`channel` is '') and the store publishes after them on the sharded channel of
   * `{verk}` (SPUBLISH), on one connection, in the order the changes were made.
   */
  const publish = (operation: string, message: string) =>
    Effect.asVoid(send(operation, cluster ? "SPUBLISH" : "PUBLISH", keys.notify, message))

  /** `homes` only grows, so each is written once per store (then never again by this process). */
  const knownHomes = new Set<string>()

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

  return {
    cluster,
    /** The channel scripts publish on: none in the cluster scheme (see `publish`). */
    channel: cluster ? "" : keys.notify,
    /** The queue registry a script adds to itself: none in the cluster scheme (see `register`). */
    scriptQueues: cluster ? undefined : keys.queues,
    /** The node's queue registry a fetch adds to itself: none in the cluster scheme (`nodesOf`). */
    scriptNodeQueues: (node: string) => (cluster ? undefined : keys.nodeQueues(node)),
    register,
    registerHomes: (operation: string, ...names: ReadonlyArray<string>) => {
      if (!cluster) return Effect.void
      const fresh = names.filter((name) => !knownHomes.has(name))
      return fresh.length === 0
        ? Effect.void
        : Effect.tap(register(operation, keys.homes, ...fresh), () =>
            Effect.sync(() => {
              for (const name of fresh) knownHomes.add(name)
            }),
          )
    },
    publish,
    /** After a script of the cluster scheme: publish what Sidekiq's scheme's script published itself. */
    publishAfter: (operation: string, message: string, when = true) =>
      cluster && when ? publish(operation, message) : Effect.void,
    /** Notifications as published: the cluster scheme's on a shard channel. */
    subscribe: () => wire.subscribe(keys.notify, { sharded: cluster }),
    homes,
    eachHome,
    homeOf,
    /** Members grouped by their home (Sidekiq's scheme: all in one). */
    byHome: <A>(items: ReadonlyArray<A>, rawOf: (item: A) => string): Map<string, Array<A>> => {
      const groups = new Map<string, Array<A>>()
      for (const item of items) {
        const home = homeOf(rawOf(item))
        const group = groups.get(home)
        if (group === undefined) groups.set(home, [item])
        else group.push(item)
      }
      return groups
    },
    /** Whether one script may write keys of both queues: always in Sidekiq's scheme, one slot in the cluster's. */
    oneSlot: (queue: string, other: string): boolean => !cluster || queue === other,
    /** The queues where `node` may hold in-progress jobs, sorted. */
    nodeQueues: (node: string): Effect.Effect<Array<string>, Store.StoreError> =>
      cluster
        ? eachHome("nodeQueues", (home) =>
            Effect.map(count("nodeQueues", "SISMEMBER", keys.nodesOf(home), node), (member) =>
              member === 1 ? [home] : [],
            ),
          ).pipe(Effect.map((found) => found.flat().sort()))
        : strings("nodeQueues", "SMEMBERS", keys.nodeQueues(node)).pipe(Effect.map((q) => [...q].sort())),
    /** Nodes that may hold in-progress jobs: the cluster scheme's fetches register them per queue. */
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
  }
}
