/**
 * How a job that did not succeed leaves this node's in-progress entries for a sorted set: retry
 * and snooze (back to a set to run again later), kill (to dead). One script when the entry's home
 * is the queue the job was fetched from, which is always so in Sidekiq's scheme. In the cluster
 * scheme a payload naming another queue has its home in another slot: the entry is written first
 * and the job leaves in-progress after, in two steps (a crash between runs it again; it is never
 * lost). Either way a job taken whole counts its batch list down (Batches.ts).
 */
import { Payload, type Store } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Keys from "./Keys.ts"
import { Integer } from "./Replies.ts"
import * as Scripts from "./Scripts.ts"
import type { StoreContext, StoreEffect } from "./StoreContext.ts"
import * as Wire from "./Wire.ts"

/** The job whose outcome is written: where it was fetched, its token there, its payload now. */
export interface Leaving {
  readonly queue: string
  readonly node: string
  readonly token: string
  readonly payload: string
}

/**
 * Writes `job`'s entry in `set` and its removal from in-progress: `atomic` (one script) when the
 * entry's home is the job's queue, else `entry` and then the removal.
 */
export const write = (
  { keys, scheme, durable, wire, run, batches }: StoreContext,
  operation: string,
  set: Store.SortedSetName,
  job: Leaving,
  atomic: (setKey: string, settled: Scripts.Settled) => StoreEffect<unknown>,
  entry: (setKey: string) => StoreEffect<unknown>,
): StoreEffect<void> => {
  const { queue, node, token, payload } = job
  const settled = batches.of(queue, node, token)
  const home = scheme.homeOf(payload)
  const setKey = keys.set(set, home)
  const written = scheme.oneSlot(home, queue)
    ? atomic(setKey, settled)
    : entry(setKey).pipe(
        durable(operation, setKey),
        Effect.andThen(
          Wire.evalScript(wire, Scripts.ack)(Keys.inProgressKeys(keys, queue, node), [settled]).pipe(
            run(operation, Integer),
          ),
        ),
      )
  return scheme
    .registerHomes(operation, home)
    .pipe(
      Effect.andThen(written),
      durable(operation, keys.inProgress(queue, node)),
      Effect.andThen(Effect.sync(() => batches.done(queue, node, [token]))),
    )
}

/**
 * `job` to `set` (retry, or schedule for a snooze), to run again at `at` (epoch seconds), and the
 * nodes told that something is scheduled.
 */
export const reschedule = (
  context: StoreContext,
  operation: string,
  set: "retry" | "schedule",
  job: Leaving,
  at: number,
): StoreEffect<void> => {
  const { keys, scheme, wire, run, sendBytes } = context
  const bytes = Payload.toWire(job.payload)
  return write(
    context,
    operation,
    set,
    job,
    (setKey, settled) =>
      Wire.evalScript(wire, Scripts.retry)(
        { ...Keys.inProgressKeys(keys, job.queue, job.node), set: setKey },
        settled,
        bytes,
        at,
        scheme.channel,
      ).pipe(run(operation, Integer)),
    (setKey) => sendBytes(Integer)(operation, "ZADD", setKey, at, bytes),
  ).pipe(Effect.tap(() => scheme.publishAfter(operation, "scheduled")))
}
