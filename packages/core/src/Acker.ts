/**
 * Acks, batched: the jobs of one queue that finish in the same moment are removed from in-progress
 * in one store call (one round trip, one script), using Effect's request batching. Each job still
 * waits for its own ack, so nothing counts as done before Redis says so.
 */
import { Effect, Exit, Request, RequestResolver } from "effect"
import type { StoreError, StoreShape } from "./Store.ts"

interface Ack extends Request.Request<void, StoreError> {
  readonly _tag: "Ack"
  readonly queue: string
  readonly raw: string
}
const Ack = Request.tagged<Ack>("Ack")

/** `ack(queue, raw)` for one node; concurrent acks of a queue share one `store.ack`. */
export const make = (store: StoreShape, node: string) => {
  const resolver = RequestResolver.makeGrouped<Ack, string>({
    key: ({ request }) => request.queue,
    resolver: (entries, queue) =>
      store
        .ack(
          queue,
          node,
          entries.map(({ request }) => request.raw),
        )
        .pipe(
          Effect.exit,
          Effect.flatMap((exit) =>
            Effect.forEach(entries, (entry) => Request.complete(entry, Exit.isSuccess(exit) ? Exit.void : exit), {
              discard: true,
            }),
          ),
        ),
  })
  return (queue: string, raw: string): Effect.Effect<void, StoreError> => Effect.request(Ack({ queue, raw }), resolver)
}
