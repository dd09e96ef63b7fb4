/**
 * Unique jobs and debounce: what a lock is, how its key is made, and what a unique enqueue returns.
 *
 * A unique enqueue takes a lock named by a digest (of the class, the queue, and the args or the
 * key the options compute from them) in the same atomic step that writes the job; while the lock is
 * held, another enqueue of the same digest writes nothing and returns the holder's jid
 * (`Duplicate`). The job carries its digest (`unique_key`) and when its lock ends (`unique_until`):
 * the node that runs it releases the lock when the job starts (`"start"`), or once it succeeds or
 * goes to the dead set (`"success"`, the default: retries keep it), each release a
 * compare-and-delete that only frees a lock still held by that jid. A lock never outlives its
 * `ttl`, whatever happens to its job (deleted by hand, lost with a node).
 *
 * Debounce: the job waits in `schedule` for the debounce delay; an enqueue of the same digest
 * while it waits replaces its args and pushes its run time back (`Replaced`, same jid), so only the
 * last enqueue runs, once, after the last delay. An enqueue that finds the lock held by a job that
 * has left `schedule` (it is running) writes a new job, which takes the lock.
 */
import { createHash } from "node:crypto"
import * as Duration from "effect/Duration"
import type * as Job from "./Job.ts"

/** The payload key holding a unique job's digest (other clients keep unknown keys). */
export const KeyField = "unique_key"

/** The payload key saying when a unique job's lock ends: `"start"` or `"success"`. */
export const UntilField = "unique_until"

/**
 * When a lock ends: when its job starts, or when it succeeds or goes to the dead set (retries
 * keep it). Either way a lock ends at its `ttl` at the latest.
 */
export type Until = "start" | "success"

/** A unique enqueue's options (an enqueue's own, else its worker's, else the defaults). */
export interface UniqueOptions<A> {
  /**
   * What makes two enqueues the same, from the args (a method, so that any worker is an
   * `AnyWorker`); the whole args when absent. The class and the queue are always part of it.
   */
  key?(args: A): string
  /** When the lock ends; `"success"` by default (`"start"` with `debounce`). */
  readonly until?: Until | undefined
  /** The longest the lock is held; `DefaultTtl` when absent. */
  readonly ttl?: Duration.Input | undefined
  /**
   * Debounce: the job waits this long in `schedule`, and a later enqueue of the same key while it
   * waits replaces its args and starts the wait again (the last one wins).
   */
  readonly debounce?: Duration.Input | undefined
}

/** How long a lock is held at most when the options give no `ttl`. */
export const DefaultTtl: Duration.Duration = Duration.hours(24)

/** The lock was free: the job is written and holds it. */
export interface Enqueued {
  readonly _tag: "Enqueued"
  readonly job: Job.Job
}

/** The lock is held: nothing was written; `jid` is the job holding it. */
export interface Duplicate {
  readonly _tag: "Duplicate"
  readonly jid: string
}

/** Debounce: the waiting job holding the lock now has these args and run time (its jid is kept). */
export interface Replaced {
  readonly _tag: "Replaced"
  readonly job: Job.Job
}

/** What a unique enqueue did. */
export type Result = Enqueued | Duplicate | Replaced

/** A unique job's write, as a store takes it. */
export interface Push {
  /** The job's queue: the lock lives in its slot. */
  readonly queue: string
  readonly digest: string
  /** The job's jid, which the lock holds. */
  readonly jid: string
  readonly ttlMillis: number
  /** The job's text. On `Replaced` the store writes it with the holder's jid instead of `jid`. */
  readonly payload: string
  /** Epoch seconds when it waits in `schedule`; `undefined` pushes it to its queue. */
  readonly at: number | undefined
  /** Replace a waiting holder (debounce) rather than return `Duplicate`. */
  readonly debounce: boolean
}

/** What a store did with a `Push`. */
export type PushReply =
  | { readonly _tag: "Pushed" }
  | { readonly _tag: "Duplicate"; readonly jid: string }
  | { readonly _tag: "Replaced"; readonly jid: string }

/** A held lock, as inspection shows it. */
export interface Lock {
  readonly queue: string
  readonly digest: string
  /** The job holding it. */
  readonly jid: string
  /** How long before it lapses at the latest. */
  readonly ttlMillis: number
}

/** A lock's digest: 32 hex characters of SHA-256 of the class, the queue and the key. */
export const digest = (className: string, queue: string, key: string): string =>
  createHash("sha256")
    .update(JSON.stringify([className, queue, key]))
    .digest("hex")
    .slice(0, 32)

/** The key of args: the options' `key`, else the args' JSON. */
export const keyOf = <A>(options: UniqueOptions<A>, args: A, wire: ReadonlyArray<unknown>): string =>
  options.key === undefined ? JSON.stringify(wire) : options.key(args)

/** The lock's settings once defaults are applied. */
export const resolve = <A>(
  options: UniqueOptions<A>,
): { readonly until: Until; readonly ttlMillis: number; readonly debounceMillis: number | undefined } => {
  const debounceMillis =
    options.debounce === undefined ? undefined : Duration.toMillis(Duration.fromInputUnsafe(options.debounce))
  return {
    until: options.until ?? (debounceMillis === undefined ? "success" : "start"),
    ttlMillis: Math.max(
      1,
      Duration.toMillis(options.ttl === undefined ? DefaultTtl : Duration.fromInputUnsafe(options.ttl)),
    ),
    debounceMillis,
  }
}

/**
 * `payload` with its jid `from` replaced by `to` (a debounced job keeps the holder's jid). The
 * jid's JSON text is found as the `"jid":"..."` member, which `JSON.stringify` writes unspaced.
 */
export const withJid = (payload: string, from: string, to: string): string =>
  payload.replace(`"jid":${JSON.stringify(from)}`, () => `"jid":${JSON.stringify(to)}`)

/** The lock a job holds, read from its payload: its digest, and when it ends; `undefined` for none. */
export const lockOf = (job: Job.Job): { readonly digest: string; readonly until: Until } | undefined => {
  const key = job[KeyField]
  if (typeof key !== "string" || key === "") return undefined
  return { digest: key, until: job[UntilField] === "start" ? "start" : "success" }
}
