/**
 * What every group of the store's operations (StoreJobs, StoreSets, StoreNodes,
 * StoreNotifications) is built from: the commands, the key names, the key scheme's decisions and
 * durable writes.
 */
import type { Store } from "@verk/core"
import type * as Effect from "effect/Effect"
import type * as Batches from "./Batches.ts"
import type * as Commands from "./Commands.ts"
import type * as Durability from "./Durability.ts"
import type * as KeyScheme from "./KeyScheme.ts"
import type * as Keys from "./Keys.ts"

export interface StoreContext extends Commands.Commands {
  readonly keys: Keys.Keys
  readonly scheme: KeyScheme.KeyScheme
  readonly durable: Durability.Durable
  /** Jobs taken whole by fetches, for the writes of their outcomes (Batches.ts). */
  readonly batches: Batches.Batches
}

/** A group of the store's operations, built from the shared context. */
export type Operations<K extends keyof Store.StoreShape> = (context: StoreContext) => Pick<Store.StoreShape, K>

/** An effect of the store: its failures are `StoreError`s. */
export type StoreEffect<A> = Effect.Effect<A, Store.StoreError>
