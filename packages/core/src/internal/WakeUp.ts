/**
 * Turns store notifications into wake-ups, so that idle loops react within milliseconds instead
 * of polling Redis hard: one subscription per node (one pub/sub connection, whatever the number
 * of queues) feeds a signal per queue, a signal for the scheduler, and the pause state.
 * Notifications published while the subscription is down are lost: when the store says it is
 * back (`Resubscribed`), every queue and the scheduler are woken and pause state is re-read. Pause
 * state is also re-read every five poll intervals, should anything else be missed.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Settings } from "../Settings.ts"
import { queueDepth } from "../Stats.ts"
import { type Notification, NotificationStore, SetStore } from "../Store.ts"
import { Cancels } from "./Cancel.ts"
import * as Loop from "./Loop.ts"

/** A latch-like signal: `clear` before looking for work, then `wait` if there was none. */
export interface Signal {
  readonly clear: Effect.Effect<void>
  /** Returns when signalled (also if signalled since the last `clear`) or after `timeout`. */
  readonly wait: (timeout: Duration.Input) => Effect.Effect<void>
}

/** The clock Effect runs on when none is provided (timers of its own); `TestClock` is another. */
const liveClock = Context.get(Context.empty(), Clock.Clock)

/** The longest delay `setTimeout` keeps (a longer one fires at once); a wait that long ends early. */
const MaxTimerMillis = 2 ** 31 - 1

type Resume = (effect: Effect.Effect<void>) => void

/**
 * `notify` resumes the waiting loop at once, inside the notifier's own step (as `Deferred` does),
 * rather than a turn of the event loop later through the scheduler: an idle queue's fetch goes out
 * in the same turn as the notification that woke it. A notify with no one waiting is kept for the
 * next `wait` (one at most), unless a `clear` comes first. On the live clock a wait is one callback
 * with its own timer, with no race of two fibers to set up and interrupt on every wake-up; on
 * another clock (`TestClock`) it races that clock's `sleep`.
 */
const makeSignal = (): Signal & { readonly notify: Effect.Effect<void> } => {
  let pending = false
  const waiters = new Set<Resume>()
  const signalled = (millis: number | undefined) =>
    Effect.callback<void>((resume) => {
      if (pending) {
        pending = false
        return resume(Effect.void)
      }
      const timer =
        millis === undefined
          ? undefined
          : setTimeout(
              () => {
                waiters.delete(wake)
                resume(Effect.void)
              },
              Math.min(Math.max(millis, 0), MaxTimerMillis),
            )
      const wake: Resume = (effect) => {
        clearTimeout(timer)
        resume(effect)
      }
      waiters.add(wake)
      return Effect.sync(() => {
        clearTimeout(timer)
        waiters.delete(wake)
      })
    })
  const untilSignalled = signalled(undefined)
  return {
    notify: Effect.sync(() => {
      if (waiters.size === 0) {
        pending = true
        return
      }
      const woken = [...waiters]
      waiters.clear()
      for (const wake of woken) wake(Effect.void)
    }),
    clear: Effect.sync(() => {
      pending = false
    }),
    wait: (timeout) =>
      Clock.clockWith((clock) => {
        const duration = Duration.fromInputUnsafe(timeout)
        return clock === liveClock
          ? signalled(Duration.toMillis(duration))
          : Effect.raceFirst(untilSignalled, clock.sleep(duration))
      }),
  }
}

export class WakeUp extends Context.Service<
  WakeUp,
  {
    readonly forQueue: (queue: string) => Effect.Effect<Signal>
    /**
     * Looks at `queue` every poll interval for the scope's lifetime (for jobs pushed by foreign
     * clients, which notify nobody) and signals it when it holds jobs. One round trip a poll for
     * all watched queues: each idle queue does not poll on its own.
     */
    readonly watch: (queue: string) => Effect.Effect<void, never, Scope.Scope>
    readonly scheduled: Signal
    readonly isPaused: (queue: string) => Effect.Effect<boolean>
    /**
     * Re-reads pause state now, waking the queues whose state changed: a fetch found its queue
     * paused before the notification arrived (late under load, or lost).
     */
    readonly refreshPaused: Effect.Effect<void>
  }
>()("@verk/core/WakeUp") {
  static readonly layer: Layer.Layer<WakeUp, never, NotificationStore | SetStore | Settings> = Layer.effect(
    WakeUp,
    Effect.gen(function* () {
      const store = yield* NotificationStore
      const sets = yield* SetStore
      const { pollInterval } = yield* Settings
      // Cancel requests go to the node's runs (Cancel.ts), when this node has any.
      const cancels = Option.getOrUndefined(yield* Effect.serviceOption(Cancels))
      const signals = new Map<string, Signal & { readonly notify: Effect.Effect<void> }>()
      const signalOf = (queue: string) => {
        const existing = signals.get(queue)
        if (existing !== undefined) return existing
        const signal = makeSignal()
        signals.set(queue, signal)
        return signal
      }
      const forQueue = (queue: string) => Effect.sync(() => signalOf(queue))
      const scheduled = makeSignal()
      const paused = yield* Ref.make<ReadonlySet<string>>(new Set())

      // One line when the store goes away, one when it is back, per loop (Loop.outage).
      const pauseOutage = Loop.outage("Reading pause state")
      const pollOutage = Loop.outage("Looking at the queues")
      const notificationsOutage = Loop.outage("Subscribing to store notifications")

      // Re-read pause state; wake the queues whose state changed so they act on it now.
      const refreshPaused = store.pausedQueues.pipe(
        Effect.tap(() => pauseOutage.succeeded),
        Effect.flatMap((next) =>
          Effect.gen(function* () {
            const previous = yield* Ref.getAndSet(paused, next)
            for (const queue of new Set([...previous, ...next])) {
              if (previous.has(queue) !== next.has(queue)) yield* (yield* forQueue(queue)).notify
            }
          }),
        ),
        Effect.catch(pauseOutage.failed),
      )

      // Whatever was published while the subscription was down is lost: look at everything once.
      const wakeEverything = Effect.gen(function* () {
        yield* notificationsOutage.succeeded
        yield* Effect.logInfo("Store notifications resubscribed after a reconnect: waking every queue")
        for (const signal of signals.values()) yield* signal.notify
        yield* scheduled.notify
        yield* refreshPaused
        if (cancels !== undefined) yield* cancels.reload
      })

      const dispatch = (notification: Notification) => {
        switch (notification._tag) {
          case "Work":
            return signalOf(notification.queue).notify
          case "Pause":
            return refreshPaused
          case "Scheduled":
            return scheduled.notify
          case "Resubscribed":
            return wakeEverything
          case "Cancel":
            return cancels === undefined ? Effect.void : cancels.heard(notification.jid)
        }
      }

      yield* refreshPaused
      yield* Loop.forkScoped(
        "notifications",
        store.notifications.pipe(
          // A subscription that failed and came up again says so with its first notification.
          Stream.onFirst(() => notificationsOutage.succeeded),
          Stream.runForEach(dispatch),
          Effect.tapError(notificationsOutage.failed),
          Effect.retry(Schedule.spaced(Duration.seconds(1))),
        ),
      )
      const watched = new Set<string>()
      // All the LLENs go out together (ioredis pipelines them): one round trip per poll. The
      // sizes also feed the queue-depth gauge.
      const pollWatched = Effect.suspend(() =>
        Effect.forEach(
          [...watched],
          (queue) =>
            sets.queueSize(queue).pipe(
              Effect.tap((size) => Metric.update(Metric.withAttributes(queueDepth, { queue }), size)),
              Effect.flatMap((size) =>
                size > 0 ? Effect.flatMap(forQueue(queue), (signal) => signal.notify) : Effect.void,
              ),
            ),
          { concurrency: "unbounded", discard: true },
        ),
      ).pipe(Effect.andThen(pollOutage.succeeded), Effect.catch(pollOutage.failed))
      yield* Loop.forkScoped("queue poll", Effect.repeat(pollWatched, Schedule.spaced(pollInterval)))

      // Notifications carry pause changes at once; this only covers ones missed during an outage.
      yield* Loop.forkScoped(
        "pause refresh",
        Effect.repeat(refreshPaused, Schedule.spaced(Duration.times(pollInterval, 5))),
      )

      return {
        forQueue,
        watch: (queue: string) =>
          Effect.acquireRelease(
            Effect.sync(() => watched.add(queue)),
            () => Effect.sync(() => watched.delete(queue)),
          ).pipe(Effect.asVoid),
        scheduled,
        isPaused: (queue: string) => Effect.map(Ref.get(paused), (set) => set.has(queue)),
        refreshPaused,
      }
    }),
  )
}
