/**
 * The one way a payload goes to the dead set, whoever sends it: the processor (retries exhausted,
 * a payload that is not a job, a failure nothing else could record), recovery (poison pills) and
 * the scheduler (a due member that cannot run). Each death is one atomic store write out of where
 * the payload was (an in-progress list, or the `schedule`/`retry` set), retried until it lands like
 * every outcome write, then one `JobDead` event and one log line.
 *
 * The entry is the job's own text with the failure's fields patched in (everything else kept byte
 * for byte); a payload that is not a job is wrapped instead, its text kept whole in `payload`.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import { Events, JobDead } from "../Events.ts"
import * as Job from "../Job.ts"
import * as Payload from "../Payload.ts"
import { deadSetLimits, Settings } from "../Settings.ts"
import { JobStore, SetStore } from "../Store.ts"

/** Outcome writes back off up to 2 s between attempts, for as long as it takes. */
export const OutcomeRetry = Schedule.min([Schedule.exponential("50 millis"), Schedule.spaced("2 seconds")])

/** Where the payload is now. */
export type Source =
  /** A node's in-progress entries for `queue` (this node's, or a dead node's being recovered), under `token`. */
  | { readonly _tag: "InProgress"; readonly queue: string; readonly node: string; readonly token: string }
  /** A due member of `schedule` or `retry`. */
  | { readonly _tag: "Set"; readonly set: "schedule" | "retry" }

export interface Death {
  readonly from: Source
  /** The payload as it is in the store: its identity there. */
  readonly raw: string
  /** The queue it was taken from, or names. */
  readonly queue: string
  /** What the entry's error fields say. */
  readonly failure: Job.Failure
  /** Why it died, for the event and the log line. */
  readonly reason: string
  /** The job, when the payload decoded; otherwise it is decoded here. */
  readonly job?: Job.Job | undefined
  /** The level of the log line (Warn by default); "None" writes none. */
  readonly logLevel?: LogLevel.LogLevel | undefined
  /** When it died (epoch milliseconds), if the caller already read the clock; else `Clock`'s now. */
  readonly nowMillis?: number | undefined
}

/** A dead-set entry, before it is written. */
export interface Entry {
  readonly payload: string
  /** The entry's jid: the job's, or a fresh one for a wrapped payload. */
  readonly jid: string
  /** The decoded job, unless the payload is not one (then the entry wraps it). */
  readonly job: Job.Job | undefined
}

export interface Buried {
  /** False when another node moved it first (a due member both schedulers saw). */
  readonly moved: boolean
  readonly entry: Entry
  /** The entry's score in `dead`: epoch seconds. */
  readonly score: number
}

const decoded = (raw: string): Job.Job | undefined => {
  const result = Job.decodeResult(raw)
  return Result.isSuccess(result) ? result.success : undefined
}

/** The entry for `death` at `nowMillis`. Total: a payload nothing else fits is wrapped. */
export const entryFor = (death: Death, nowMillis: number): Entry => {
  try {
    const job = death.job ?? decoded(death.raw)
    if (job !== undefined) {
      const patched = Job.patch(death.raw, Job.failureChanges(job, death.failure, nowMillis))
      if (Result.isSuccess(patched)) return { payload: patched.success, jid: job.jid, job }
    }
  } catch {
    // wrapped below: the entry must not depend on anything that can fail
  }
  const jid = Job.makeJid()
  return { payload: Job.malformedDeadEntry(death.raw, death.queue, death.reason, nowMillis, jid), jid, job: undefined }
}

/** A bad payload in a log line: never whole (it may be megabytes), escaped, with its length. */
export const excerpt = Payload.excerpt

const clip = (text: string, max = 300) => (text.length <= max ? text : `${text.slice(0, max - 3)}...`)

/** The one log line of a death, with its annotations. */
export const logLine = (
  death: Death,
  buried: Buried,
): { readonly message: string; readonly annotations: Record<string, unknown> } => {
  const { entry, score } = buried
  const from = death.from._tag === "Set" ? ` from ${death.from.set}` : ""
  if (entry.job !== undefined) {
    return {
      message: `dead ${entry.job.class} ${entry.jid}${from}: ${clip(death.reason)}`,
      annotations: { queue: death.queue, class: entry.job.class, jid: entry.jid, dead_score: score },
    }
  }
  const jid = Job.jidOf(death.raw)
  return {
    message:
      `Malformed job payload in queue ${death.queue}${from}${jid === undefined ? "" : ` (jid ${clip(jid, 64)})`}: ` +
      `${clip(death.reason)}; payload ${excerpt(death.raw)}; moved to the dead set as ${entry.jid} (score ${score})`,
    annotations: {
      queue: death.queue,
      jid: jid === undefined ? "-" : clip(jid, 64),
      dead_jid: entry.jid,
      dead_score: score,
      payload_length: Payload.length(death.raw),
    },
  }
}

export class DeadLetter extends Context.Service<
  DeadLetter,
  {
    /**
     * Moves the payload to the dead set, retrying the write until it lands; then publishes
     * `JobDead` and logs one line. Never fails; interruption stops it between attempts.
     */
    readonly bury: (death: Death) => Effect.Effect<Buried>
  }
>()("@verk/core/DeadLetter") {
  static readonly layer: Layer.Layer<DeadLetter, never, JobStore | SetStore | Events | Settings> = Layer.effect(
    DeadLetter,
    Effect.gen(function* () {
      const jobs = yield* JobStore
      const sets = yield* SetStore
      const events = yield* Events
      const limits = deadSetLimits(yield* Settings)

      const write = (death: Death, payload: string, score: number) => {
        const { from, raw } = death
        return from._tag === "InProgress"
          ? Effect.as(jobs.kill(from.queue, from.node, from.token, payload, score, limits), true)
          : Effect.map(sets.promote(from.set, [{ raw, payload, queue: undefined }], score), (moved) => moved > 0)
      }

      const bury = Effect.fn("DeadLetter.bury")(function* (death: Death) {
        const now = death.nowMillis ?? (yield* Clock.currentTimeMillis)
        const entry = entryFor(death, now)
        const score = Job.toEpochSeconds(now)
        // Each attempt whole; the same entry every time, so a retried write adds it once. Between
        // attempts it can be interrupted (shutdown while the store is away), even when the caller
        // records its outcome uninterruptibly: the payload is then still where it was.
        const moved = yield* Effect.interruptible(
          Effect.uninterruptible(Effect.suspend(() => write(death, entry.payload, score))).pipe(
            Effect.tapError((error) =>
              Effect.logWarning(`Could not move a job to the dead set yet, retrying: ${error.message}`),
            ),
            Effect.retry(OutcomeRetry),
            Effect.orDie,
          ),
        )
        const buried: Buried = { moved, entry, score }
        // Another node moved it first: that node reports it.
        if (!moved) return buried
        yield* events.publish(
          new JobDead({
            queue: death.queue,
            jid: entry.job?.jid,
            className: entry.job?.class,
            reason: death.reason,
            job: entry.job,
            errorClass: death.failure.errorClass,
            errorMessage: death.failure.message,
            backtrace: death.failure.backtrace,
          }),
        )
        const level = death.logLevel ?? "Warn"
        if (level !== "None" && level !== "All" && (yield* LogLevel.isEnabled(level))) {
          const line = logLine(death, buried)
          yield* Effect.logWithLevel(level)(line.message).pipe(Effect.annotateLogs(line.annotations))
        }
        return buried
      })

      return { bury }
    }),
  )
}
