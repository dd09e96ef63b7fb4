/**
 * An entry reference: what names one entry of a sorted set (retry, schedule, dead) by what
 * identifies it in Redis, its score and its exact member bytes, whatever those bytes hold (a job
 * without a jid, a foreign jid, bytes that are not UTF-8). `@<score>~<digest>`: the score as
 * JavaScript writes the number (it reads back as the same double, as Redis does), and the
 * base64url of the first 16 bytes of the member's SHA-256. It is short whatever the payload's
 * size, survives any URL, form or shell unchanged, and never reads as a jid (a jid has no `@`).
 * An entry is found again by the members at that exact score (ZRANGEBYSCORE score score), and
 * acted on by its member as read (ZREM of exactly those bytes).
 */
import { createHash } from "node:crypto"
import { type Inspection, Payload } from "@verk/core"
import * as Effect from "effect/Effect"

/** Whether `text` is written as an entry reference (else it is taken for a jid). */
export const isRef = (text: string): boolean => text.startsWith("@")

const digest = (raw: string): string =>
  createHash("sha256").update(Payload.toBytes(raw)).digest().subarray(0, 16).toString("base64url")

/** The reference of a set's entry. */
export const of = (entry: { readonly raw: string; readonly score: number }): string =>
  `@${String(entry.score)}~${digest(entry.raw)}`

/** What a reference names: a score and a digest; `undefined` when `text` is not one. */
export const parse = (text: string): { readonly score: number; readonly digest: string } | undefined => {
  const match = /^@([^~]{1,40})~([A-Za-z0-9_-]{22})$/.exec(text)
  if (match === null) return undefined
  const score = Number(match[1])
  return Number.isFinite(score) ? { score, digest: match[2]! } : undefined
}

/** Members read per step when many share one score (a bulk add at one instant). */
const Window = 100

/** The entry `ref` names in a set, or `undefined` (gone, or not a reference). */
export const find = <E, R>(
  set: {
    readonly at: (
      score: number,
      offset: number,
      limit: number,
    ) => Effect.Effect<ReadonlyArray<Inspection.ScoredEntry>, E, R>
  },
  ref: string,
) =>
  Effect.gen(function* () {
    const parsed = parse(ref)
    if (parsed === undefined) return undefined
    for (let offset = 0; ; offset += Window) {
      const entries = yield* set.at(parsed.score, offset, Window)
      const found = entries.find((entry) => digest(entry.raw) === parsed.digest)
      if (found !== undefined) return found
      if (entries.length < Window) return undefined
    }
  })

// ---------------------------------------------------------------------------------------------
// Queues: an entry is its value at an index, `@q<index>~<digest>`. Pushes only move an entry
// further from the head (LPUSH) and takes only shorten the tail, so it is looked for from a little
// before its index on, in windows.
// ---------------------------------------------------------------------------------------------

/** The reference of a queue's entry read at `index` (LRANGE's, from the newest). */
export const ofQueued = (index: number, raw: string): string => `@q${index}~${digest(raw)}`

/** Entries before a queued entry's index that may have gone since it was read (taken, deleted). */
const Slack = 100
/** Entries read per step of a queued entry's search. */
const QueueWindow = 500

/** The value `ref` names in a queue (by `range`, LRANGE semantics), or `undefined` (gone, or not one). */
export const findQueued = <E, R>(
  range: (start: number, stop: number) => Effect.Effect<ReadonlyArray<{ readonly raw: string }>, E, R>,
  ref: string,
) =>
  Effect.gen(function* () {
    const match = /^@q(\d{1,12})~([A-Za-z0-9_-]{22})$/.exec(ref)
    if (match === null) return undefined
    const wanted = match[2]!
    for (let start = Math.max(0, Number(match[1]) - Slack); ; start += QueueWindow) {
      const entries = yield* range(start, start + QueueWindow - 1)
      const found = entries.find((entry) => digest(entry.raw) === wanted)
      if (found !== undefined) return found.raw
      if (entries.length < QueueWindow) return undefined
    }
  })
