/**
 * This node's side of cancelling jobs (see Cancel.ts for the call): which jids are cancelled, and
 * which runs of this node would have to stop. The cancelled jids are the store's markers, read
 * when the node starts (and again after a lost subscription, and every minute), plus those heard
 * since in `Cancel` notifications (WakeUp.ts passes them on). A run registers its jid before it
 * starts (`enter`): a cancelled job is then not run at all; a cancel heard while it runs
 * interrupts its fiber, as a timeout would, so its finalizers run (JobRun.ts writes the outcome).
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import { CancelMarkerSeconds, CancelStore } from "../Store.ts"
import * as Loop from "./Loop.ts"

/** Jobs cancelled (queued, scheduled or retrying ones removed by the call are not counted here). */
export const cancelledTotal = Metric.counter("verk_jobs_cancelled_total", {
  description: "Job runs cancelled on this node (interrupted, or dropped before they started)",
  incremental: true,
})

/** How often the markers are read again, should a notification have been missed. */
const ReloadInterval = Duration.minutes(1)

export class Cancels extends Context.Service<
  Cancels,
  {
    /**
     * A run of `jid` begins on `fiber`: whether the job is cancelled already (then it must not
     * run). Until `leaveUnsafe`, a cancel of `jid` interrupts `fiber`.
     */
    readonly enterUnsafe: (jid: string, fiber: Fiber.Fiber<unknown, unknown>) => boolean
    /** The run of `jid` on `fiber` has ended. */
    readonly leaveUnsafe: (jid: string, fiber: Fiber.Fiber<unknown, unknown>) => void
    readonly isCancelledUnsafe: (jid: string) => boolean
    /** A `Cancel` notification: remember `jid`, and interrupt its run on this node, if any. */
    readonly heard: (jid: string) => Effect.Effect<void>
    /** Read the store's markers again (after a lost subscription: notifications were missed). */
    readonly reload: Effect.Effect<void>
  }
>()("@verk/core/Cancels") {
  static readonly layer: Layer.Layer<Cancels, never, CancelStore> = Layer.effect(
    Cancels,
    Effect.gen(function* () {
      const store = yield* CancelStore
      const clock = yield* Clock.Clock
      /** jid → when this node forgets it (epoch milliseconds). */
      const cancelled = new Map<string, number>()
      const running = new Map<string, Fiber.Fiber<unknown, unknown>>()
      const ttlMillis = CancelMarkerSeconds * 1000
      const remember = (jid: string, now: number) => cancelled.set(jid, now + ttlMillis)
      const outage = Loop.outage("Reading cancel requests")
      const reload = Effect.gen(function* () {
        const now = clock.currentTimeMillisUnsafe()
        const jids = yield* store.cancelledJids(now)
        for (const [jid, until] of cancelled) if (until <= now) cancelled.delete(jid)
        for (const jid of jids) {
          remember(jid, now)
          running.get(jid)?.interruptUnsafe()
        }
        yield* outage.succeeded
      }).pipe(Effect.catch(outage.failed))
      yield* reload
      yield* Loop.forkScoped("cancel requests", Effect.repeat(reload, Schedule.spaced(ReloadInterval)))
      return {
        enterUnsafe: (jid, fiber) => {
          running.set(jid, fiber)
          return cancelled.has(jid)
        },
        leaveUnsafe: (jid, fiber) => {
          if (running.get(jid) === fiber) running.delete(jid)
        },
        isCancelledUnsafe: (jid) => cancelled.has(jid),
        heard: (jid) =>
          Effect.sync(() => {
            remember(jid, clock.currentTimeMillisUnsafe())
            running.get(jid)?.interruptUnsafe()
          }),
        reload,
      }
    }),
  )
}

/** No cancels at all: for a processor built without the node's `Cancels` (a test's). */
export const noCancels: Cancels["Service"] = {
  enterUnsafe: () => false,
  leaveUnsafe: () => {},
  isCancelledUnsafe: () => false,
  heard: () => Effect.void,
  reload: Effect.void,
}
