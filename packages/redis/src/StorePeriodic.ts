/**
 * The store's periodic entries (see `Store.PeriodicStoreShape`). The registry (`verk:periodic`,
 * `verk:periodic-seen`) is shared by every node, in the slot of the registries in the cluster key
 * scheme. An entry's state (`verk:periodic:<name>`) is claimed by one script with the push of its
 * job, so in the cluster scheme it lives in its queue's slot (`verk:periodic:{<queue>}:<name>`).
 * State keys expire `Store.PeriodicStateSeconds` after the last declaration or claim: an entry
 * removed from the code (or moved to another queue) leaves nothing behind for longer.
 */
import { Payload, Store } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Replies from "./Replies.ts"
import * as Scripts from "./Scripts.ts"
import type { Operations } from "./StoreContext.ts"
import * as Wire from "./Wire.ts"

const { Integer } = Replies

/** A registry record as stored: the entry's queue and description. */
const StoredRecord = Schema.fromJsonString(Schema.Struct({ queue: Schema.String, description: Schema.String }))
const decodeRecord = Schema.decodeUnknownOption(StoredRecord)
const encodeRecord = Schema.encodeSync(StoredRecord)

const ClaimResults: Record<number, Store.PeriodicClaimResult> = { 0: "Taken", 1: "Enqueued", 2: "Paused" }

/** HGETALL's reply: an object (ioredis's own conversion), or flat field, value, field, value... */
const StringHash = Schema.Union([Schema.Record(Schema.String, Schema.String), Schema.Array(Schema.String)])

/** The fields of an HGETALL reply, whichever shape it came in. */
const pairsOf = (hash: typeof StringHash.Type): Array<readonly [string, string]> => {
  if (!Array.isArray(hash)) return Object.entries(hash)
  const pairs: Array<readonly [string, string]> = []
  for (let i = 0; i + 1 < hash.length; i += 2) pairs.push([hash[i] as string, hash[i + 1] as string])
  return pairs
}

const optionalNumber = (value: string | null): number | undefined => (value === null ? undefined : Number(value))

export const make: Operations<
  | "declarePeriodic"
  | "periodicRecords"
  | "periodicStates"
  | "claimPeriodic"
  | "setPeriodicPaused"
  | "requestPeriodicRun"
> = ({ keys, scheme, durable, wire, redis, run, send, sendFor }) => {
  const keep = (operation: string, entry: Store.PeriodicKey) =>
    send(operation, "EXPIRE", keys.periodicState(entry.queue, entry.name), Store.PeriodicStateSeconds)
  return {
    declarePeriodic: (entries, now, staleMillis) =>
      redis
        .eval(Scripts.periodicDeclare)(
          { registry: keys.periodic, seen: keys.periodicSeen },
          now,
          now - staleMillis,
          entries.map((entry) => [entry.name, encodeRecord(entry)] as const),
        )
        .pipe(
          run("declarePeriodic", Integer),
          // Each state key in its own slot (cluster scheme): kept alive one by one.
          Effect.andThen(
            Effect.forEach(entries, (entry) => keep("declarePeriodic", entry), { concurrency: "unbounded" }),
          ),
          Effect.asVoid,
        ),
    periodicRecords: Effect.all(
      [
        sendFor(StringHash)("periodicRecords", "HGETALL", keys.periodic),
        sendFor(Replies.ScoredPairs)("periodicRecords", "ZRANGE", keys.periodicSeen, 0, -1, "WITHSCORES"),
      ],
      { concurrency: "unbounded" },
    ).pipe(
      Effect.map(([hash, scored]) => {
        const seen = new Map(scored.map(([name, score]) => [name, Number(score)]))
        const records: Array<Store.PeriodicRecord> = []
        for (const [name, text] of pairsOf(hash)) {
          const seenAt = seen.get(name)
          const record = decodeRecord(text)
          // A record that does not decode is not ours: left out, not fatal to the listing.
          if (seenAt === undefined || record._tag === "None") continue
          records.push({ name, ...record.value, seenAt })
        }
        return records.sort((a, b) => (a.name < b.name ? -1 : 1))
      }),
    ),
    periodicStates: (entries) =>
      Effect.forEach(
        entries,
        (entry) =>
          sendFor(Replies.NullableStrings)(
            "periodicStates",
            "HMGET",
            keys.periodicState(entry.queue, entry.name),
            "last",
            "enqueued",
            "paused",
            "run",
          ).pipe(
            Effect.map(([last, enqueued, paused, requested]) => ({
              lastTick: optionalNumber(last ?? null),
              lastEnqueued: optionalNumber(enqueued ?? null),
              paused: paused === "1",
              runRequested: optionalNumber(requested ?? null),
            })),
          ),
        { concurrency: "unbounded" },
      ),
    claimPeriodic: (entry, claim, payload) =>
      scheme.register("claimPeriodic", keys.queues, entry.queue).pipe(
        Effect.andThen(
          Wire.evalScript(wire, Scripts.periodicClaim)(
            {
              state: keys.periodicState(entry.queue, entry.name),
              queue: keys.queue(entry.queue),
              queues: scheme.scriptQueues,
            },
            entry.queue,
            scheme.channel,
            Store.PeriodicStateSeconds,
            claim._tag === "Tick" ? "tick" : "run",
            claim._tag === "Tick" ? claim.tick : claim.requestedAt,
            Payload.toWire(payload),
          ).pipe(run("claimPeriodic", Integer)),
        ),
        Effect.tap((reply) => scheme.publishAfter("claimPeriodic", `work:${entry.queue}`, reply === 1)),
        durable("claimPeriodic", keys.queue(entry.queue)),
        Effect.map((reply) => ClaimResults[reply] ?? "Taken"),
      ),
    setPeriodicPaused: (entry, paused) =>
      send("setPeriodicPaused", "HSET", keys.periodicState(entry.queue, entry.name), "paused", paused ? "1" : "0").pipe(
        Effect.andThen(keep("setPeriodicPaused", entry)),
        Effect.asVoid,
      ),
    requestPeriodicRun: (entry, at) =>
      send("requestPeriodicRun", "HSET", keys.periodicState(entry.queue, entry.name), "run", at).pipe(
        Effect.andThen(keep("requestPeriodicRun", entry)),
        Effect.asVoid,
      ),
  }
}
