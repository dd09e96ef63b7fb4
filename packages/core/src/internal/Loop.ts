/**
 * Background loops that cannot die. Every loop of a node (fetch, scheduler, heartbeat, recovery,
 * notifications, polls, stats flush) handles its expected failures itself; whatever still ends
 * one (a defect, a failure it did not expect) is logged at error level and the loop starts over
 * after a pause, so that one bad payload or one bug never silently stops a node's work.
 * Interruption is how a loop's scope stops it: that alone ends it.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
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

/**
 * How a loop reports the store going away and coming back: one line when its first try fails (Warn),
 * one when a try works again (Info, with how long and how many tries), and the failed tries in
 * between at Debug only. A loop retrying every second through a minute's outage writes two lines,
 * not sixty.
 */
export interface Outage {
  /** A try failed: logged at Warn if the loop was fine until now, else at Debug. */
  readonly failed: (error: { readonly message: string }) => Effect.Effect<void>
  /** A try worked: logs that the store is back if the loop had reported it away. */
  readonly succeeded: Effect.Effect<void>
}

/** The outage reporter of one loop (`what`: "fetch from default", "heartbeat", ...). */
export const outage = (what: string): Outage => {
  let downSince: number | undefined
  let failures = 0
  return {
    failed: (error) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        failures++
        if (downSince !== undefined)
          return Effect.logDebug(`${what} failed again (${failures} tries): ${error.message}`)
        downSince = now
        return Effect.logWarning(
          `${what} failed, the store seems away; retrying quietly until it is back: ${error.message}`,
        )
      }),
    succeeded: Effect.suspend(() =>
      downSince === undefined
        ? Effect.void
        : Effect.flatMap(Clock.currentTimeMillis, (now) => {
            const seconds = ((now - (downSince ?? now)) / 1000).toFixed(1)
            const tries = failures
            downSince = undefined
            failures = 0
            return Effect.logInfo(
              `${what} works again: the store is back after ${seconds} s (${tries} failed ${tries === 1 ? "try" : "tries"})`,
            )
          }),
    ),
  }
}
