/** The Redis store's options (RedisStore.ts), and those of its layer with a connection of its own. */
import type * as Connection from "./Connection.ts"
import type * as Durability from "./Durability.ts"
import type * as Keys from "./Keys.ts"

/** How the store uses Redis: its keys, and how many replicas a write waits for. */
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
  readonly durability?: Durability.Durability | undefined
}

/** Options of `layer`: the store's, and its connection's. */
export interface LayerOptions extends RedisStoreOptions, Connection.ConnectionOptions {}
