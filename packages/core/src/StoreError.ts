/**
 * The one error of every store operation, with a `reason` to act on: the store is away (try
 * again later), it answered something unexpected, or a write was not replicated in time.
 */
import * as Data from "effect/Data"
import * as Predicate from "effect/Predicate"

/** Why a store operation failed. */
export type StoreErrorReason =
  /** The store could not be reached, or refused the command (Redis away, a connection lost, a script error). */
  | { readonly _tag: "Unavailable" }
  /** The store answered, but not with what the operation expects. */
  | { readonly _tag: "BadReply" }
  /**
   * Fewer replicas than asked for acknowledged a write in time (see RedisStore's `durability`):
   * the write may be on the primary only.
   */
  | { readonly _tag: "NotReplicated"; readonly wanted: number; readonly acknowledged: number }
  /**
   * A Redis Cluster was migrating the slot of the operation's keys (resharding) for longer than
   * the operation could wait: it did not run; try again once the migration is over.
   */
  | { readonly _tag: "SlotMoving"; readonly slot: number }

/** A store operation failed; `reason` says why, `cause` is what the store's client reported. */
export class StoreError extends Data.TaggedError("StoreError")<{
  readonly operation: string
  readonly reason: StoreErrorReason
  readonly cause: unknown
}> {
  /** `reason` defaults to what `cause` says (see `reasonOf`). */
  constructor(args: { readonly operation: string; readonly cause: unknown; readonly reason?: StoreErrorReason }) {
    super({ operation: args.operation, cause: args.cause, reason: args.reason ?? reasonOf(args.cause) })
  }
  override get message() {
    return `Store operation ${this.operation} failed: ${describe(this.cause)}`
  }
}

const Unavailable: StoreErrorReason = { _tag: "Unavailable" }
const BadReply: StoreErrorReason = { _tag: "BadReply" }

/** The reason a client's error gives: a reply that did not decode, a write not replicated, else unavailable. */
export const reasonOf = (cause: unknown): StoreErrorReason => {
  if (Predicate.isTagged(cause, "SchemaError")) return BadReply
  if (
    Predicate.isTagged(cause, "NotReplicated") &&
    Predicate.hasProperty(cause, "wanted") &&
    Predicate.hasProperty(cause, "acknowledged") &&
    typeof cause.wanted === "number" &&
    typeof cause.acknowledged === "number"
  ) {
    return { _tag: "NotReplicated", wanted: cause.wanted, acknowledged: cause.acknowledged }
  }
  const moving = findTagged(cause, "SlotMoving")
  if (Predicate.hasProperty(moving, "slot") && typeof moving.slot === "number") {
    return { _tag: "SlotMoving", slot: moving.slot }
  }
  return Unavailable
}

/** The first error tagged `tag` along the chain of causes (a client's error wraps the one that says it). */
const findTagged = (cause: unknown, tag: string): unknown => {
  let current = cause
  for (let depth = 0; depth < 8 && Predicate.hasProperty(current, "cause"); depth++) {
    if (Predicate.isTagged(current, tag)) return current
    current = current.cause
  }
  return Predicate.isTagged(current, tag) ? current : undefined
}

/**
 * What went wrong, in words: the first non-empty message along the chain of causes (a client's
 * error often wraps the one that says it), else the error's name.
 */
const describe = (cause: unknown): string => {
  let current = cause
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      if (current.message !== "") return current.message
      const tag = (current as { readonly _tag?: unknown })._tag
      const next = (current as { readonly cause?: unknown }).cause
      if (next === undefined) return typeof tag === "string" ? tag : current.name
      current = next
      continue
    }
    try {
      return typeof current === "object" ? JSON.stringify(current) : String(current)
    } catch {
      return "unknown cause"
    }
  }
  return "unknown cause"
}
