/**
 * The store's periodic entries (see Periodic.ts): the registry of declared entries and each entry's
 * state. A module of its own so that Store.ts stays readable; Store.ts re-exports every name here
 * (`Store.PeriodicStore`, `Store.PeriodicKey`...): import them from there.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { StoreError } from "./StoreError.ts"

/** A periodic entry's identity in the store: its name, and its queue (the slot of its state). */
export interface PeriodicKey {
  readonly name: string
  readonly queue: string
}

/** A periodic entry as a node declares it: its identity and a description for listings (JSON). */
export interface PeriodicDeclaration extends PeriodicKey {
  readonly description: string
}

/** A declared entry, as the registry holds it. */
export interface PeriodicRecord extends PeriodicDeclaration {
  /** Epoch milliseconds of the last declaration. */
  readonly seenAt: number
}

/** What the store remembers of one entry; all absent for an entry it knows nothing of. */
export interface PeriodicState {
  /** The last tick handled (enqueued, or skipped while paused), epoch milliseconds. */
  readonly lastTick: number | undefined
  /** The last tick enqueued, epoch milliseconds. */
  readonly lastEnqueued: number | undefined
  readonly paused: boolean
  /** A pending `run now` request: when it was made, epoch milliseconds. */
  readonly runRequested: number | undefined
}

/**
 * What a node asks of the store for an entry: its tick at `tick` (epoch milliseconds), or the
 * `run now` request made at `requestedAt`.
 */
export type PeriodicClaim =
  | { readonly _tag: "Tick"; readonly tick: number }
  | { readonly _tag: "Run"; readonly requestedAt: number }

/**
 * How a claim ended: its job was pushed; another node (or an earlier call) had the tick or the
 * request already; or the entry is paused (the tick counts as handled, nothing is pushed).
 */
export type PeriodicClaimResult = "Enqueued" | "Taken" | "Paused"

/**
 * How long an entry's state (last tick, pause, run request) outlives the last declaration or
 * claim of it: an entry removed from the code leaves nothing behind after this long.
 */
export const PeriodicStateSeconds = 7 * 24 * 3600

/** The registry and state of periodic entries: each tick enqueued once, whatever the node count. */
export interface PeriodicStoreShape {
  /**
   * Record that `entries` are declared at `now` (epoch milliseconds) and keep their state for
   * `PeriodicStateSeconds` more; registry records not declared for `staleMillis` are forgotten.
   */
  readonly declarePeriodic: (
    entries: ReadonlyArray<PeriodicDeclaration>,
    now: number,
    staleMillis: number,
  ) => Effect.Effect<void, StoreError>
  /** The registry: every entry declared recently, by name. */
  readonly periodicRecords: Effect.Effect<ReadonlyArray<PeriodicRecord>, StoreError>
  /** The state of each entry, in order. */
  readonly periodicStates: (
    entries: ReadonlyArray<PeriodicKey>,
  ) => Effect.Effect<ReadonlyArray<PeriodicState>, StoreError>
  /**
   * Atomically: a tick later than the entry's last one is handled (its `payload` pushed onto the
   * entry's queue, unless the entry is paused) and becomes the last; an earlier or equal tick is
   * `Taken`. A `Run` claim pushes `payload` if the pending request is the one made at
   * `requestedAt`, and removes it (pause does not hold it back); otherwise it is `Taken`.
   */
  readonly claimPeriodic: (
    entry: PeriodicKey,
    claim: PeriodicClaim,
    payload: string,
  ) => Effect.Effect<PeriodicClaimResult, StoreError>
  /** Pause or resume an entry on every node. */
  readonly setPeriodicPaused: (entry: PeriodicKey, paused: boolean) => Effect.Effect<void, StoreError>
  /** Ask for one run of the entry now (made at `at`, epoch milliseconds); a node running it claims it. */
  readonly requestPeriodicRun: (entry: PeriodicKey, at: number) => Effect.Effect<void, StoreError>
}

/** The store's periodic entries (see `PeriodicStoreShape`): the periodic loop and its inspection. */
export class PeriodicStore extends Context.Service<PeriodicStore, PeriodicStoreShape>()(
  "@verk/core/Store/PeriodicStore",
) {}
