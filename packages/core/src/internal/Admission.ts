/**
 * A job's admission by its limits (Limits.ts), the run's step between decode and start, taken only
 * by jobs whose worker or queue has limits (the others never reach this module). Concurrency limits
 * are asked first, each taking a slot for the run (`<node>:<queue>:<token>`); then rate limits, each
 * recording a start. A job over any limit frees the slots it took and is snoozed (JobRun.ts writes
 * it to `schedule`); a job admitted keeps its slots until its outcome is written or its run is
 * interrupted (`release`). A start recorded by a rate limit before a later limit said no is not
 * given back: it counts, as an attempt, against that window (limits are asked in a fixed order,
 * so this only happens with several rate limits on one job).
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type * as Job from "../Job.ts"
import { budgetOf, type Limit, type QueueLimitsShape } from "../Limits.ts"
import type { LimitStoreShape, StoreError } from "../Store.ts"
import type { RegisteredWorker } from "../Worker.ts"
import type { Pacer } from "./Pacer.ts"

/**
 * What admission needs of the node: the store's limits, its id, the queues' limits, and its
 * memory of the budgets it found full (Pacer.ts).
 */
export interface Gate {
  readonly store: LimitStoreShape
  readonly node: string
  readonly queueLimits: QueueLimitsShape
  readonly pacer: Pacer
}

/** A slot of a concurrency limit held by a run, since `since` (epoch ms). */
export interface Held {
  readonly key: string
  readonly holder: string
  readonly since: number
}

/** Admitted (with the slots it holds), or over `limit` for `waitMillis`. */
export type Verdict =
  | { readonly _tag: "Admitted"; readonly holds: ReadonlyArray<Held> }
  | { readonly _tag: "Over"; readonly limit: string; readonly waitMillis: number }

/** Whether a job of `worker` on `queue` is admitted by limits at all (most jobs are not). */
export const limited = (gate: Gate, queue: string, worker: RegisteredWorker | undefined): boolean =>
  worker?.limits !== undefined || gate.queueLimits[queue] !== undefined

/** The wait of a job that could not be admitted because the store failed: as a full slot's. */
const StoreFailedWait = 1_000

/** A limit and the budget one job draws from. */
type Budget = readonly [Limit<unknown>, string]

/** The budgets of one job: its worker's limits on its decoded args, then its queue's on the wire args. */
const budgetsOf = Effect.fnUntraced(function* (
  gate: Gate,
  queue: string,
  job: Job.Job,
  worker: RegisteredWorker | undefined,
) {
  const budgets: Array<Budget> = []
  const limits = worker?.limits
  if (limits !== undefined && worker !== undefined) {
    // Args that do not decode fail the run at once (InvalidJobArgs): nothing to limit.
    const decoded = yield* Effect.exit(worker.decodeArgs(job.args))
    if (Exit.isSuccess(decoded)) for (const limit of limits) budgets.push([limit, budgetOf(limit, decoded.value)])
  }
  for (const limit of gate.queueLimits[queue] ?? []) budgets.push([limit as Limit<unknown>, budgetOf(limit, job.args)])
  // Concurrency first: a slot is given back when a later limit says no; a recorded start is not.
  return budgets.sort(([a], [b]) => (a._tag === b._tag ? 0 : a._tag === "Concurrency" ? -1 : 1))
})

/**
 * Asks every limit of the job, in order. A store failure frees the slots taken so far and counts
 * as over (the job is snoozed, and tries again soon): a limit is never skipped.
 */
export const admit = (
  gate: Gate,
  queue: string,
  token: string,
  job: Job.Job,
  worker: RegisteredWorker | undefined,
): Effect.Effect<Verdict> => {
  const holds: Array<Held> = []
  const holder = `${gate.node}:${queue}:${token}`
  const over = (limit: string, waitMillis: number): Effect.Effect<Verdict> =>
    Effect.as(release(gate, holds), { _tag: "Over", limit, waitMillis })
  return Effect.gen(function* () {
    const nowMillis = yield* Clock.currentTimeMillis
    // Paced (Pacer.ts): the jobs snoozed for one rate budget come back a limit's worth per window.
    // `told`: the store said so now, not the pacer's memory.
    const paced = (limit: Limit<unknown>, key: string, waitMillis: number, periodMillis: number, told = true) =>
      over(
        key,
        gate.pacer.snoozed({
          key,
          nowMillis,
          waitMillis,
          limit: limit.limit,
          periodMillis,
          rate: limit._tag === "Rate",
          told,
        }),
      )
    for (const [limit, key] of yield* budgetsOf(gate, queue, job, worker)) {
      if (limit._tag === "Concurrency") {
        if (!(yield* gate.store.acquireHold(key, limit.limit, gate.node, holder))) {
          // A slot frees when a run ends: paced by how long runs here hold one, `snooze` at most.
          const snooze = Duration.toMillis(limit.snooze)
          const period = Math.min(snooze, gate.pacer.typicalHold(key) ?? snooze)
          return yield* paced(limit, key, period, period)
        }
        holds.push({ key, holder, since: nowMillis })
        continue
      }
      const per = Duration.toMillis(limit.per)
      // A window the store said is full stays full until its oldest start leaves it.
      const full = gate.pacer.fullFor(key, nowMillis)
      if (full !== undefined) return yield* paced(limit, key, full, per, false)
      // The start's member names the run and its job: unique per fetch, and readable in Redis.
      const reply = yield* gate.store.takeRate(key, limit.limit, per, `${holder}:${job.jid}`)
      if (reply._tag === "Over") return yield* paced(limit, key, reply.waitMillis, per)
    }
    return { _tag: "Admitted", holds } satisfies Verdict
  }).pipe(
    Effect.catch((error: StoreError) =>
      Effect.logWarning(`Could not ask the limits of ${job.jid}, snoozing it: ${error.message}`).pipe(
        Effect.andThen(over("(store unavailable)", StoreFailedWait)),
      ),
    ),
  )
}

/** How a release that failed is tried again before it is left to the node's leaving or recovery. */
const ReleaseRetry = Schedule.max([Schedule.exponential("100 millis"), Schedule.recurs(5)])

/**
 * Gives back a run's slots, and tells the pacer how long they were held. One that cannot be given
 * back (the store is away) is logged: the node frees all its slots when it leaves, and its
 * recovery does should it die.
 */
export const release = (gate: Gate, holds: ReadonlyArray<Held>): Effect.Effect<void> =>
  holds.length === 0
    ? Effect.void
    : Effect.forEach(
        holds,
        ({ key, holder, since }) =>
          gate.store.releaseHold(key, holder).pipe(
            Effect.tap(() =>
              Effect.map(Clock.currentTimeMillis, (nowMillis) => gate.pacer.held(key, nowMillis - since)),
            ),
            Effect.retry(ReleaseRetry),
            Effect.catch((error) =>
              Effect.logWarning(
                `Could not free a slot of limit ${key} (freed when this node leaves): ${error.message}`,
              ),
            ),
          ),
        { discard: true },
      )

/**
 * When a job over a limit for `waitMillis` tries again (epoch seconds): after the wait, plus up to
 * 40 ms of jitter (a tenth of a shorter wait, and 20 ms), so that the jobs snoozed together do not
 * all come back in the same instant. Bounded: a rate budget's jobs are paced to windows seconds
 * ahead (Pacer.ts), and jitter that grew with the wait would make every later window start late.
 */
export const snoozeAt = (nowMillis: number, waitMillis: number): Effect.Effect<number> =>
  Effect.map(
    Random.next,
    (random) => (nowMillis + waitMillis + Math.floor(random * (Math.min(waitMillis / 10, 20) + 20))) / 1000,
  )
