/**
 * The store's side of rate and concurrency limits (see Limits.ts): a sliding window log of starts
 * per rate limit, a set of holders per concurrency limit with each node's index of the limits it
 * holds, and the snooze that puts a job over a limit back in `schedule`. A module of its own so
 * that Store.ts stays readable; Store.ts re-exports every name here (`Store.LimitStore`...).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { StoreError } from "./StoreError.ts"

/** What a rate limit said about one start: admitted (and recorded), or over, for `waitMillis` more. */
export type RateReply =
  | { readonly _tag: "Admitted" }
  | {
      readonly _tag: "Over"
      /** Until the oldest start in the window leaves it, by the store's clock. */
      readonly waitMillis: number
    }

/** One holder of a concurrency limit: a run of `node`. */
export interface Hold {
  readonly holder: string
  readonly node: string
}

/** One budget of a limit in use, as `verk limits` lists it. */
export interface LimitUsage {
  readonly kind: "rate" | "concurrency"
  /** The limit's name, and its key when it has one (`<name>:<key>`). */
  readonly budget: string
  /** Rate: the starts kept in its window (at most `per` old at its last start); concurrency: its holders. */
  readonly used: number
  /** Concurrency: the nodes of its holders, one per slot held; rate: none. */
  readonly nodes: ReadonlyArray<string>
}

/** Rate and concurrency limits across every node sharing the store, and the snooze of a job over one. */
export interface LimitStoreShape {
  /**
   * Atomically: forget the starts of `key` older than `perMillis`; if fewer than `limit` remain,
   * record a start now as `member` (`Admitted`), else say when the oldest leaves the window
   * (`Over`). No window of `perMillis` ever holds more than `limit` starts. "Now" is the store's
   * clock (Redis: its TIME, one clock for every node; the memory store: `Clock`).
   */
  readonly takeRate: (
    key: string,
    limit: number,
    perMillis: number,
    member: string,
  ) => Effect.Effect<RateReply, StoreError>
  /**
   * Atomically: make `holder` (a run of `node`) a holder of `key` if fewer than `limit` hold it;
   * whether it holds it now (a holder already there still does). `key` joins `node`'s index first,
   * so that the node's recovery finds the hold (`releaseNodeHolds`).
   */
  readonly acquireHold: (key: string, limit: number, node: string, holder: string) => Effect.Effect<boolean, StoreError>
  /** `holder` no longer holds `key` (nothing when it did not). */
  readonly releaseHold: (key: string, holder: string) => Effect.Effect<void, StoreError>
  /**
   * Free every hold of `node`, found through its index, and forget the index: the recovery of a
   * dead node, or a node leaving. Returns how many holds were freed.
   */
  readonly releaseNodeHolds: (node: string) => Effect.Effect<number, StoreError>
  /** The holders of `key` now. */
  readonly holders: (key: string) => Effect.Effect<ReadonlyArray<Hold>, StoreError>
  /**
   * Every budget in use (a rate window with starts in it, a concurrency limit with holders, or one
   * whose holders left a moment ago), by kind and budget. On a Redis Cluster this fails: the keys
   * are spread over its shards.
   */
  readonly limitUsage: Effect.Effect<ReadonlyArray<LimitUsage>, StoreError>
  /**
   * Atomically: take the job of `token` out of `node`'s in-progress entries of `queue` and add
   * `raw` (its payload, unchanged) to `schedule` at `at` (epoch seconds), telling schedulers.
   */
  readonly snooze: (
    queue: string,
    node: string,
    token: string,
    raw: string,
    at: number,
  ) => Effect.Effect<void, StoreError>
}

/** The store's limits (see `LimitStoreShape`): the job run's admission, recovery, and inspection. */
export class LimitStore extends Context.Service<LimitStore, LimitStoreShape>()("@verk/core/Store/LimitStore") {}
