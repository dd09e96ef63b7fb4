/**
 * Reading a sorted set in bounded steps, for an admin that must not read a whole set at once:
 * ZSCAN with a MATCH prefilter (`scanSet`), and the members at one exact score (`setAt`), which is
 * how an entry is found again by its reference. In the cluster scheme a scan walks the homes'
 * parts one after the other; its cursor names the part and the part's own cursor.
 */
import type { Store } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Keys from "./Keys.ts"
import * as Replies from "./Replies.ts"
import type { Operations } from "./StoreContext.ts"

/** ZSCAN's reply: the next cursor, and member, score, member, score... (all bytes). */
const ScanReply = Schema.Tuple([Schema.Uint8Array, Schema.Array(Schema.Uint8Array)])

/** A MATCH pattern for members containing `text`: glob's special characters escaped. */
export const containsPattern = (text: string): string => `*${text.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1")

export const make: Operations<"scanSet" | "setAt"> = ({ keys, scheme, sendBytes }) => {
  const step = (key: string, cursor: string, count: number, contains: string | undefined) =>
    sendBytes(ScanReply)(
      "scanSet",
      "ZSCAN",
      key,
      cursor,
      ...(contains === undefined ? [] : ["MATCH", Buffer.from(containsPattern(contains), "utf8")]),
      "COUNT",
      Math.max(1, count),
    ).pipe(Effect.map(([next, flat]) => ({ cursor: text(next), entries: Replies.toScored(flat) })))

  const scanSet: Store.SetStoreShape["scanSet"] = (set, cursor, count, contains) => {
    if (!scheme.cluster) return step(keys.set(set, Keys.DefaultHome), cursor, count, contains)
    // Cluster scheme: "<part>:<cursor>" over the homes in name order (homes only grow, so an
    // index stays the same home as long as no home sorts before it; a new one is seen at worst twice).
    return Effect.gen(function* () {
      const homes = [...(yield* scheme.homes)].sort()
      const split = cursor.indexOf(":")
      let part = split < 0 ? 0 : Number(cursor.slice(0, split))
      let inner = split < 0 ? "0" : cursor.slice(split + 1)
      if (!Number.isInteger(part) || part < 0) part = homes.length
      const home = homes[part]
      if (home === undefined) return { cursor: "0", entries: [] }
      const found = yield* step(keys.set(set, home), inner, count, contains)
      inner = found.cursor
      if (inner === "0") {
        part++
        if (part >= homes.length) return { cursor: "0", entries: found.entries }
      }
      return { cursor: `${part}:${inner}`, entries: found.entries }
    }).pipe(Effect.withSpan("RedisStore.scanSet"))
  }

  const setAt: Store.SetStoreShape["setAt"] = (set, score, offset, limit) => {
    if (limit < 1) return Effect.succeed([])
    const at = (home: string, from: number, count: number) =>
      sendBytes(Replies.ScoredPayloads)(
        "setAt",
        "ZRANGEBYSCORE",
        keys.set(set, home),
        score,
        score,
        "WITHSCORES",
        "LIMIT",
        from,
        count,
      ).pipe(Effect.map(Replies.toScored))
    if (!scheme.cluster) return at(Keys.DefaultHome, offset, limit)
    // The union of the parts in member order (ZRANGE's order at one score), then the window.
    return scheme
      .eachHome("setAt", (home) => at(home, 0, offset + limit))
      .pipe(Effect.map((parts) => Replies.byScore(parts.flat()).slice(offset, offset + limit)))
  }

  return { scanSet, setAt }
}
