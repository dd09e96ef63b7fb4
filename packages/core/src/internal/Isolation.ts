/**
 * Running suspects alone. A job that came back from a dead node may be the poison pill that killed
 * it; if it ran beside other jobs and killed node after node, they would all come back together
 * and share its count until every one of them looked like a pill. But most jobs of a dead node are
 * innocent (the node was killed, ran out of memory, lost its machine), and running each of them
 * alone would serialise its work on the survivors. So a job is a suspect only once it came back a
 * second time (`suspectFrom`): after one death the jobs run again as any others; a job that was
 * in flight at two deaths runs alone. A pill thus kills two nodes in company (the jobs beside it go
 * back to their queues, counted once or twice), then only alone, and goes to dead after
 * `maxRecoveries`; an innocent job never reaches the limit through it. When a queue finds a
 * suspect at its head, every queue of the node stops taking jobs until the node is idle, the job
 * runs by itself, and then the node goes on as before.
 *
 * This is node-wide, in-process state: JavaScript runs one fiber step at a time, so each
 * transition below is atomic.
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"

/**
 * How many times a job must have come back from dead nodes to run alone: twice, or fewer when
 * `maxRecoveries` is lower, so that a job always runs alone before a recovery can make it a poison
 * pill (an innocent beside a pill would otherwise reach the limit with it).
 */
export const suspectFrom = (maxRecoveries: number): number => Math.max(1, Math.min(2, maxRecoveries))

/** What a fetcher may do now. */
export type Permission =
  /** Fetch as usual. */
  | "fetch"
  /** Fetch, and take a job that came back from a dead node alone if it is first. */
  | "isolate"
  /** Take nothing now: a suspect runs, or one waits for the node to be idle. */
  | "wait"

export interface FetchEnd {
  /** The one job taken must run alone. */
  readonly isolated: boolean
  /** A suspect waits first in this queue. */
  readonly blocked: boolean
}

/** A fetch claimed for a queue, held by a scope: unless ended first, the scope ends it as failed. */
export interface FetchClaim {
  readonly permission: Permission
  /** Ends the claim once the fetched jobs were started. */
  readonly end: (result: FetchEnd) => Effect.Effect<void>
}

export class Isolation extends Context.Service<
  Isolation,
  {
    /** Claims a fetch for `queue`; every claim that is not "wait" must be ended with `endFetch`. */
    readonly beginFetch: (queue: string) => Effect.Effect<Permission>
    /** Ends a claimed fetch, after its jobs were started; `undefined` when the fetch failed. */
    readonly endFetch: (queue: string, result: FetchEnd | undefined) => Effect.Effect<void>
    /** `beginFetch` and `endFetch` as a claim owned by the caller's scope. */
    readonly claimFetch: (queue: string) => Effect.Effect<FetchClaim, never, Scope.Scope>
    /** `queue` stops fetching (paused or removed): a suspect at its head no longer holds the node. */
    readonly withdraw: (queue: string) => Effect.Effect<void>
    /**
     * A job of this node starts performing (`isolated`: a suspect, alone)... (Plain calls: they run
     * inside the pool's own steps, for every job.)
     */
    readonly jobStartedUnsafe: (isolated: boolean) => void
    /** ...and ended; `isolated` if it was a suspect running alone. */
    readonly jobEndedUnsafe: (isolated: boolean) => void
    /** Returns on the next change of state, or after `timeout`. */
    readonly changed: (timeout: Duration.Input) => Effect.Effect<void>
  }
>()("@verk/core/Isolation") {
  static readonly layer: Layer.Layer<Isolation> = Layer.sync(Isolation, () => {
    let performing = 0
    let fetching = 0
    let suspectRunning = false
    const waiting = new Set<string>()
    let change = Deferred.makeUnsafe<void>()
    const announce = () => {
      Deferred.doneUnsafe(change, Exit.void)
      change = Deferred.makeUnsafe<void>()
    }
    const idle = () => performing === 0 && fetching === 0

    const beginFetch = (queue: string) =>
      Effect.sync((): Permission => {
        if (suspectRunning) return "wait"
        if (waiting.size > 0) {
          // Let the node drain; then only a queue with a suspect first may fetch, alone.
          if (!waiting.has(queue) || !idle()) return "wait"
          fetching++
          return "isolate"
        }
        const permission = idle() ? "isolate" : "fetch"
        fetching++
        return permission
      })
    const endFetch = (queue: string, result: FetchEnd | undefined) =>
      Effect.sync(() => {
        fetching--
        if (result?.isolated) waiting.delete(queue)
        else if (result?.blocked) waiting.add(queue)
        else if (result !== undefined) waiting.delete(queue)
        announce()
      })

    return {
      beginFetch,
      endFetch,
      claimFetch: (queue) =>
        Effect.map(
          Effect.acquireRelease(
            Effect.map(beginFetch(queue), (permission) => ({ permission, open: permission !== "wait" })),
            (claim) => (claim.open ? endFetch(queue, undefined) : Effect.void),
          ),
          (claim): FetchClaim => ({
            permission: claim.permission,
            end: (result) =>
              Effect.suspend(() => {
                if (!claim.open) return Effect.void
                claim.open = false
                return endFetch(queue, result)
              }),
          }),
        ),
      withdraw: (queue) =>
        Effect.sync(() => {
          if (waiting.delete(queue)) announce()
        }),
      jobStartedUnsafe: (isolated) => {
        performing++
        if (isolated) suspectRunning = true
      },
      jobEndedUnsafe: (isolated) => {
        performing--
        if (isolated) suspectRunning = false
        if (isolated || performing === 0) announce()
      },
      changed: (timeout) => Effect.suspend(() => Effect.raceFirst(Deferred.await(change), Effect.sleep(timeout))),
    }
  })
}
