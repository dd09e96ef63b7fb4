/**
 * Waiting for the end of the event loop's current turn (its check phase, `setImmediate`): what
 * finishes in this turn joins one batch. Jobs that wait on I/O end one timer or socket callback at
 * a time, with microtasks run between callbacks, so a batch that closed at the end of a microtask
 * would hold one job; one that closes at the end of the turn holds all that ended in it.
 */
import * as Effect from "effect/Effect"

/** Returns once the event loop reaches the end of its current turn. */
export const end: Effect.Effect<void> = Effect.callback((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})
