/**
 * Unique locks as an operator sees them (`Inspection.UniqueLocks`): which job holds the lock of a
 * worker's args (or of a digest read from a job's `unique_key`), and for how long at most.
 */
import * as Effect from "effect/Effect"
import { InvalidQueueName } from "./Client.ts"
import { queueNameProblem } from "./Settings.ts"
import { JobStore } from "./Store.ts"
import * as Unique from "./Unique.ts"
import type { Worker } from "./WorkerDefinition.ts"

/** The locks of unique jobs (see Unique.ts). */
export const UniqueLocks = {
  /**
   * The lock `Client.enqueueUnique(worker, args, options)` would take, while it is held: the
   * holder's jid and its time left. The key is computed as the enqueue computes it.
   */
  of: Effect.fn("Inspection.UniqueLocks.of")(function* <A, E, R>(
    worker: Worker<A, E, R>,
    args: A,
    options?: { readonly queue?: string | undefined; readonly unique?: Unique.UniqueOptions<A> | undefined },
  ) {
    const queue = options?.queue ?? worker.queue
    if (queueNameProblem(queue) !== undefined) return yield* new InvalidQueueName({ worker: worker.name, queue })
    const wire = yield* worker.encodeArgs(args)
    const lock: Unique.UniqueOptions<A> = { ...worker.unique, ...options?.unique }
    const digest = Unique.digest(worker.name, queue, Unique.keyOf(lock, args, wire))
    return yield* JobStore.use((store) => store.uniqueLock(queue, digest))
  }),
  /** The lock of `digest` (a job's `unique_key`) on `queue`, while it is held. */
  byDigest: (queue: string, digest: string) => JobStore.use((store) => store.uniqueLock(queue, digest)),
  /** Free a lock by hand, if `jid` still holds it; whether it did. */
  release: (queue: string, digest: string, jid: string) =>
    JobStore.use((store) => store.releaseUnique(queue, digest, jid)),
}
