/**
 * Durable writes (Redis `WAIT`): with `durability`, a write counts as done once that many replicas
 * hold it. Replication is asynchronous: without this, a write acknowledged just before the primary
 * dies can be missing on the replica promoted in its place.
 */
import { Store } from "@verk/core"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Wire from "./Wire.ts"

export interface Durability {
  /** Replicas that must acknowledge each write. */
  readonly replicas: number
  /** How long to wait for them; a write they do not acknowledge in time fails with `StoreError`. */
  readonly timeout?: Duration.Input | undefined
}

/** Fewer replicas than asked for acknowledged a write within the durability timeout. */
export class NotReplicated extends Data.TaggedError("NotReplicated")<{
  readonly wanted: number
  readonly acknowledged: number
}> {
  override get message() {
    return `only ${this.acknowledged} of ${this.wanted} replicas acknowledged the write in time`
  }
}

/** Makes `write` (on `key`, named `operation`) wait for the replicas; as it is without `durability`. */
export type Durable = (
  operation: string,
  key: string,
) => <A>(write: Effect.Effect<A, Store.StoreError>) => Effect.Effect<A, Store.StoreError>

export const make = (wire: Wire.WireShape, durability: Durability | undefined): Durable => {
  const waitMillis = Duration.toMillis(Duration.fromInputUnsafe(durability?.timeout ?? "1 second"))
  // `WAIT` on the connection that carried the write covers every write sent on it before.
  const replicated = (operation: string, writer: Wire.Writer, replicas: number) =>
    wire.waitForReplicas(writer, replicas, waitMillis).pipe(
      Effect.mapError((cause) => new Store.StoreError({ operation, cause })),
      Effect.flatMap((acknowledged) =>
        acknowledged >= replicas
          ? Effect.void
          : Effect.fail(
              new Store.StoreError({ operation, cause: new NotReplicated({ wanted: replicas, acknowledged }) }),
            ),
      ),
    )
  // The connection is taken before the write: a WAIT on a reconnected one would cover nothing.
  return (operation, key) => (write) =>
    durability === undefined
      ? write
      : Effect.flatMap(
          Effect.mapError(wire.writer(key), (cause) => new Store.StoreError({ operation, cause })),
          (writer) => Effect.tap(write, () => replicated(operation, writer, durability.replicas)),
        )
}
