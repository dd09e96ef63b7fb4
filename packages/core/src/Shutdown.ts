/**
 * Cutting a node's graceful shutdown short. Closing `Verk.layer`'s scope gives running jobs
 * `shutdownTimeout` to finish; once `stopNow` has run (a second Ctrl-C in `verk run`), the wait
 * ends at once: the running jobs are interrupted and put back at the front of their queues, as
 * they are when the timeout runs out. Nothing is lost, and nothing is written as an outcome.
 *
 *   const Live = Verk.layer({ workers }).pipe(Layer.provideMerge(Shutdown.layer), ...)
 *   // later, from a signal handler: yield* (yield* Shutdown.Shutdown).stopNow
 *
 * Without `layer` the reference's default never stops early, and its `stopNow` does nothing.
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** What the control offers: the trigger, and the wait for it. */
export interface ShutdownShape {
  /** Ends the wait for running jobs of a shutdown under way (or of one to come). */
  readonly stopNow: Effect.Effect<void>
  /** Returns once `stopNow` has run (at once if it already has). */
  readonly stoppingNow: Effect.Effect<void>
}

/** The node's shutdown control; a reference, so a runtime without one waits the whole timeout. */
export const Shutdown: Context.Reference<ShutdownShape> = Context.Reference<ShutdownShape>("@verk/core/Shutdown", {
  defaultValue: () => ({ stopNow: Effect.void, stoppingNow: Effect.never }),
})

/** A fresh control: `stoppingNow` returns once `stopNow` has run. */
export const make: Effect.Effect<ShutdownShape> = Effect.map(Deferred.make<void>(), (deferred) => ({
  stopNow: Effect.asVoid(Deferred.succeed(deferred, undefined)),
  stoppingNow: Deferred.await(deferred),
}))

/** A fresh control, for `Verk.layer` and whoever may cut its shutdown short (`Layer.provideMerge`). */
export const layer: Layer.Layer<never> = Layer.effect(Shutdown, make)
