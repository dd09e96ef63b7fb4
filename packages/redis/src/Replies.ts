/**
 * How the store reads Redis's replies: the Schemas they are decoded with, payload bytes turned into
 * the store's strings, and ZRANGE's order and index rules for a sorted set read in parts (the
 * cluster scheme's homes).
 */
import { Payload, type Store } from "@verk/core"
import * as Schema from "effect/Schema"

/** Payloads as Redis holds them: bytes, turned into the store's strings by `fromBytes`. */
export const Payloads = Schema.Array(Schema.Uint8Array)
/** Jobs taken, and the poison pills left: token, payload, token, payload... (tokens as bytes too). */
export const RecoverReply = Schema.Tuple([Schema.Number, Payloads])
export const FetchReply = Schema.Tuple([Payloads, Schema.Number, Schema.Number, Schema.Number, Schema.Number])
/** How many members moved, and the names (bytes) of the queues pushed to. */
export const PromoteReply = Schema.Tuple([Schema.Number, Schema.Array(Schema.Uint8Array)])
export const fromBytes = (payloads: ReadonlyArray<Uint8Array>): Array<string> => payloads.map(Payload.fromBytes)
/** In-progress entries from a flat reply (a script's): token, payload, token, payload... */
export const toInProgress = (flat: ReadonlyArray<Uint8Array>): Array<Store.InProgressJob> => {
  const jobs: Array<Store.InProgressJob> = []
  for (let i = 0; i + 1 < flat.length; i += 2) {
    jobs.push({ token: Buffer.from(flat[i]!).toString(), raw: Payload.fromBytes(flat[i + 1]!) })
  }
  return jobs
}
/** Entries in fetch order: a larger token was given later. */
export const byToken = (jobs: ReadonlyArray<Store.InProgressJob>): Array<Store.InProgressJob> =>
  [...jobs].sort((a, b) => Number(a.token) - Number(b.token))

export const Strings = Schema.Array(Schema.String)
export const Integer = Schema.Number
export const NullableStrings = Schema.Array(Schema.NullOr(Schema.String))

/** ZRANGE ... WITHSCORES: ioredis 6 replies with [member, score] pairs. */
export const ScoredPairs = Schema.Array(Schema.Tuple([Schema.String, Schema.String]))
/**
 * The same read as bytes (ioredis's `zrangeBuffer`): flat, member then score (the text of a
 * number); pairs are taken too.
 */
export const ScoredPayloads = Schema.Array(
  Schema.Union([Schema.Uint8Array, Schema.Tuple([Schema.Uint8Array, Schema.Uint8Array])]),
)
export const toScored = (
  reply: ReadonlyArray<Uint8Array | readonly [Uint8Array, Uint8Array]>,
): Array<Store.ScoredPayload> => {
  const flat = reply.flat()
  const scored: Array<Store.ScoredPayload> = []
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const [member, score] = [flat[i], flat[i + 1]]
    if (member !== undefined && score !== undefined) {
      scored.push({ payload: Payload.fromBytes(member), score: Number(Buffer.from(score).toString()) })
    }
  }
  return scored
}

/**
 * Scored members in ZRANGE's order: by score, then by member. (MemoryStore in @verk/core sorts
 * its sets the same way, with a copy of its own.)
 */
export const byScore = (members: ReadonlyArray<Store.ScoredPayload>): Array<Store.ScoredPayload> =>
  [...members].sort((a, b) => a.score - b.score || (a.payload < b.payload ? -1 : a.payload > b.payload ? 1 : 0))

/**
 * ZRANGE's index rules (negative indexes count from the end, `stop` inclusive) on a list.
 * (MemoryStore's `sliceRedis` in @verk/core is the same rule.)
 */
export const sliceLikeZrange = <A>(list: ReadonlyArray<A>, start: number, stop: number): Array<A> => {
  const from = start < 0 ? Math.max(0, list.length + start) : start
  const to = stop < 0 ? list.length + stop : Math.min(stop, list.length - 1)
  return from > to ? [] : list.slice(from, to + 1)
}
