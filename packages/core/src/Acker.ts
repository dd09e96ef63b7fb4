/**
 * Acks, batched: the jobs of one queue that finish in the same moment are removed from in-progress
 * in one store call (one round trip, one script). The first ack of a moment opens a batch and
 * yields once, so that the other fibers finishing now add theirs; then it writes the batch, and
 * every job waits for that write, so nothing counts as done before Redis says so. (Effect's
 * request batching does the same at several times the cost per job.)
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type { StoreError, StoreShape } from "./Store.ts"

interface Batch {
  readonly raws: Array<string>
  readonly done: Deferred.Deferred<void, StoreError>
}

/** `ack(queue, raw)` for one node; concurrent acks of a queue share one `store.ack`. */
export const make = (store: StoreShape, node: string) => {
  const open = new Map<string, Batch>()
  const write = (queue: string, batch: Batch) =>
    Effect.suspend(() => {
      // Closed: an ack from now on opens the next batch.
      open.delete(queue)
      return store.ack(queue, node, batch.raws)
    }).pipe(
      Effect.exit,
      Effect.flatMap((exit) => {
        Deferred.doneUnsafe(batch.done, exit)
        return exit
      }),
    )
  return (queue: string, raw: string): Effect.Effect<void, StoreError> =>
    Effect.suspend(() => {
      const joined = open.get(queue)
      if (joined !== undefined) {
        joined.raws.push(raw)
        return Deferred.await(joined.done)
      }
      const batch: Batch = { raws: [raw], done: Deferred.makeUnsafe() }
      open.set(queue, batch)
      return Effect.andThen(Effect.yieldNow, write(queue, batch))
    })
}
