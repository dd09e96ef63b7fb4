/**
 * Background loops that cannot die. Every loop of a node (fetch, scheduler, heartbeat, recovery,
 * notifications, polls, stats flush) handles its expected failures itself; whatever still ends
 * one (a defect, a failure it did not expect) is logged at error level and the loop starts over
 * after a pause, so that one bad payload or one bug never silently stops a node's work.
 * Interruption is how a loop's scope stops it: that alone ends it.
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"

/** A loop that died starts again after this long: long enough not to spin on one that dies at once. */
export const RestartDelay = Duration.seconds(1)

/** `loop`, run for ever: each time it ends (other than by interruption) it is logged and restarted. */
export const supervise = <A, E, R>(
  name: string,
  loop: Effect.Effect<A, E, R>,
  onRestart: Effect.Effect<void> = Effect.void,
  onRunning: Effect.Effect<void> = Effect.void,
): Effect.Effect<never, never, R> =>
  Effect.forever(
    onRunning.pipe(
      Effect.andThen(loop),
      Effect.matchCauseEffect({
        onSuccess: () => Effect.logError(`The ${name} loop ended; restarting it`),
        onFailure: (cause) =>
          Cause.hasInterruptsOnly(cause)
            ? (Effect.failCause(cause) as Effect.Effect<never>)
            : Effect.logError(`The ${name} loop failed; restarting it`, cause),
      }),
      Effect.andThen(onRestart),
      Effect.andThen(Effect.sleep(RestartDelay)),
    ),
  )

export interface Supervised {
  /** Running now: not stopped, and not waiting to restart after a failure. */
  readonly alive: Effect.Effect<boolean>
  readonly fiber: Fiber.Fiber<never>
}

/** Runs `loop` supervised (see `supervise`) for the lifetime of the current scope. */
export const forkScoped = <A, E, R>(
  name: string,
  loop: Effect.Effect<A, E, R>,
): Effect.Effect<Supervised, never, R | Scope.Scope> =>
  Effect.gen(function* () {
    let restarting = false
    const fiber = yield* Effect.forkScoped(
      supervise(
        name,
        loop,
        Effect.sync(() => {
          restarting = true
        }),
        Effect.sync(() => {
          restarting = false
        }),
      ),
    )
    return { fiber, alive: Effect.sync(() => !restarting && fiber.pollUnsafe() === undefined) }
  })
