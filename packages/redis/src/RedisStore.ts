/**
 * The store over Redis, in Sidekiq's and Verk's key layout (see Keys.ts), composed of its
 * operations grouped by role: StoreJobs (enqueue, fetch, ack, retry, kill, requeue), StoreSets
 * (sorted sets and admin), StoreNodes (registry and heartbeat), StoreNotifications (and pauses).
 * They share one context (StoreContext.ts): commands whose every failure is a `StoreError` naming
 * the operation (Commands.ts), the key scheme's decisions (KeyScheme.ts) and durable writes
 * (Durability.ts).
 */
import { Store } from "@verk/core"
import type * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redis from "effect/persistence/Redis"
import * as Batches from "./Batches.ts"
import * as Commands from "./Commands.ts"
import * as Connection from "./Connection.ts"
import * as Durability from "./Durability.ts"
import * as EnvConfig from "./EnvConfig.ts"
import * as KeyScheme from "./KeyScheme.ts"
import * as Keys from "./Keys.ts"
import type { LayerOptions, RedisStoreOptions } from "./Options.ts"
import * as StoreCancel from "./StoreCancel.ts"
import * as StoreJobs from "./StoreJobs.ts"
import * as StoreLimits from "./StoreLimits.ts"
import * as StoreMetrics from "./StoreMetrics.ts"
import * as StoreNodes from "./StoreNodes.ts"
import * as StoreNotifications from "./StoreNotifications.ts"
import * as StorePeriodic from "./StorePeriodic.ts"
import * as StoreResults from "./StoreResults.ts"
import * as StoreSetScan from "./StoreSetScan.ts"
import * as StoreSets from "./StoreSets.ts"
import * as StoreUnique from "./StoreUnique.ts"
import * as Wire from "./Wire.ts"

export type { Durability } from "./Durability.ts"
export { NotReplicated } from "./Durability.ts"
export type { EnvSettings } from "./EnvConfig.ts"
export { config } from "./EnvConfig.ts"
export type { LayerOptions, RedisStoreOptions } from "./Options.ts"

/**
 * The store on the `Redis` and `Wire` services in context. Dies when Sidekiq's key scheme is asked
 * for on a Redis Cluster.
 */
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
  const commands = Commands.make(redis, wire)
  const context = {
    ...commands,
    keys,
    scheme: KeyScheme.make(keys, commands),
    durable: Durability.make(wire, options.durability),
    batches: Batches.make(),
  }
  const store: Store.StoreShape = {
    ...StoreJobs.make(context),
    ...StoreSets.make(context),
    ...StoreMetrics.make(context),
    ...StoreSetScan.make(context),
    ...StoreNodes.make(context),
    ...StoreNotifications.make(context),
    ...StorePeriodic.make(context),
    ...StoreUnique.make(context),
    ...StoreResults.make(context),
    ...StoreCancel.make(context),
    ...StoreLimits.make(context),
  }
  return store
})

/**
 * The store on existing connections (the aggregate `Store.Store` and its four role services, see
 * `Store.layer`): Effect's `Redis` service and our `Wire` on the same Redis, as
 * `Connection.layer` provides them (payloads need `Wire`: Effect's service only carries text).
 */
export const layerRedis = (options?: RedisStoreOptions): Layer.Layer<Store.Services, never, Redis.Redis | Wire.Wire> =>
  Store.layer(make(options))

/** The store with its own connection; failing to connect is a `Store.StoreError`. */
export const layer = (options: LayerOptions = {}): Layer.Layer<Store.Services, Store.StoreError> =>
  layerRedis(options).pipe(
    Layer.provide(
      Layer.effectContext(
        Connection.makeServices(options).pipe(
          Effect.mapError((error) => new Store.StoreError({ operation: "connect", cause: error.cause })),
        ),
      ),
    ),
  )

/** The store on the Redis of the environment (see `config`). */
export const layerConfig: Layer.Layer<Store.Services, Store.StoreError | Config.ConfigError> = Layer.unwrap(
  Effect.map(EnvConfig.config, (settings) => layer(settings)),
)
