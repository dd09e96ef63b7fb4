/**
 * Acks, batched: the jobs of one queue that finish in the same turn of the event loop are removed
 * from in-progress in one store call (one round trip, one script). The first ack of a turn opens a
 * batch and forks its write, which waits for the end of the turn (Turn.ts) so that the other
 * fibers finishing in it add theirs; every job waits for that write, so nothing counts as done
 * before the store says so. A
 * failed write fails every job of its batch (each retries its own ack). The writes are fibers of
 * the caller's scope.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import type { JobStoreShape, StoreError } from "../Store.ts"
import * as Turn from "./Turn.ts"

interface Batch {
  readonly tokens: Array<string>
  readonly waiters: Array<(result: Effect.Effect<void, StoreError>) => void>
}

const resumeAll = (batch: Batch, result: Effect.Effect<void, StoreError>): void => {
  for (const resume of batch.waiters) resume(result)
}

/** Removes a finished job (by its token) from the node's in-progress entries for `queue`. */
export type Ack = (queue: string, token: string) => Effect.Effect<void, StoreError>

/** `ack(queue, token)` for one node; concurrent acks of a queue share one `store.ack`. */
export const make = Effect.fnUntraced(function* (store: JobStoreShape, node: string) {
  const writes = yield* FiberSet.make<void>()
  const runFork = yield* FiberSet.runtime(writes)()
  // Each queue's open batch, in a slot made once per queue: a Map entry set and deleted per batch
  // would rehash the Map every few batches, and V8's old tables keep their successors (and the
  // batches in them) alive through scavenges (see `leases` in Pool.ts).
  const open = new Map<string, { batch: Batch | undefined }>()
  const write = (queue: string, batch: Batch) =>
    Effect.andThen(
      Turn.end,
      Effect.suspend(() => {
        // Closed: an ack from now on opens the next batch.
        open.get(queue)!.batch = undefined
        return Effect.exit(store.ack(queue, node, batch.tokens))
      }),
    ).pipe(Effect.map((exit) => resumeAll(batch, Exit.isSuccess(exit) ? Exit.void : exit)))
  const ack: Ack = (queue, token) =>
    Effect.callback((resume) => {
      let slot = open.get(queue)
      if (slot === undefined) {
        slot = { batch: undefined }
        open.set(queue, slot)
      }
      let batch = slot.batch
      if (batch === undefined) {
        batch = { tokens: [], waiters: [] }
        slot.batch = batch
        runFork(write(queue, batch))
      }
      batch.tokens.push(token)
      batch.waiters.push(resume)
    })
  return ack
})
