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
