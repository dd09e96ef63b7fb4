/**
 * The cost of a unique enqueue against a plain one (BENCH_ONLY=unique): from the bench process,
 * one call at a time, `Client.enqueue`, `Client.enqueueUnique` with a fresh key each time (the lock
 * is taken and the job written), and `Client.enqueueUnique` of a key already held (a duplicate:
 * nothing written), each timed per call with the bench process's and redis-server's CPU per call.
 * The three take turns every `Round` calls, so that a loaded host's drift falls on all three alike.
 */
import { Client } from "@verk/core"
import { RedisStore } from "@verk/redis"
import { Effect, Layer, ManagedRuntime, References } from "effect"
import type { Redis } from "ioredis"
import type { Row, Section } from "./report.ts"
import { redisCpuSeconds } from "./support.ts"
import { Probe } from "./verkWorkers.ts"

export interface UniqueFigures {
  readonly calls: number
  readonly plain: Cost
  readonly unique: Cost
  readonly duplicate: Cost
}

/** Seconds per call: wall, this process's CPU, redis-server's CPU. */
export interface Cost {
  readonly call: number
  readonly client: number
  readonly redis: number
}

const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

/** Calls per round; the kinds take turns round by round, so that the host's load drifts over all alike. */
const Round = 500

export const runUniqueEnqueue = async (options: {
  readonly url: string
  readonly admin: Redis
  readonly calls: number
}): Promise<UniqueFigures> => {
  const { url, admin, calls } = options
  const runtime = ManagedRuntime.make(
    Client.layer.pipe(Layer.provideMerge(RedisStore.layer({ url })), Layer.provide(quiet)),
  )
  const kinds = {
    plain: (i: number) => runtime.runPromise(Client.enqueue(Probe, [i])),
    unique: (i: number) => runtime.runPromise(Client.enqueueUnique(Probe, [i], { unique: { key: () => `key-${i}` } })),
    duplicate: (i: number) =>
      runtime.runPromise(
        Effect.tap(Client.enqueueUnique(Probe, [i], { unique: { key: () => "held" } }), (result) =>
          result._tag === "Duplicate" ? Effect.void : Effect.die(new Error("bench: expected a duplicate")),
        ),
      ),
  }
  const totals = {
    plain: { call: 0, client: 0, redis: 0 },
    unique: { call: 0, client: 0, redis: 0 },
    duplicate: { call: 0, client: 0, redis: 0 },
  }
  try {
    // Warm-up: connections, scripts loaded, code paths compiled; and the held key's lock.
    await runtime.runPromise(Client.enqueueUnique(Probe, [0], { unique: { key: () => "held" } }))
    for (let i = 0; i < 200; i++) {
      await kinds.plain(i)
      await kinds.unique(-1 - i)
      await kinds.duplicate(i)
    }
    for (let first = 0; first < calls; first += Round) {
      for (const kind of ["plain", "unique", "duplicate"] as const) {
        const cpuBefore = await redisCpuSeconds(admin)
        const clientBefore = process.cpuUsage()
        const began = performance.now()
        for (let i = first; i < Math.min(calls, first + Round); i++) await kinds[kind](i)
        totals[kind].call += (performance.now() - began) / 1000
        const used = process.cpuUsage(clientBefore)
        totals[kind].client += (used.user + used.system) / 1e6
        totals[kind].redis += (await redisCpuSeconds(admin)) - cpuBefore
      }
    }
    const perCall = (cost: Cost): Cost => ({
      call: cost.call / calls,
      client: cost.client / calls,
      redis: cost.redis / calls,
    })
    return { calls, plain: perCall(totals.plain), unique: perCall(totals.unique), duplicate: perCall(totals.duplicate) }
  } finally {
    await runtime.dispose()
  }
}

export const section = (figures: UniqueFigures): Section => {
  const row = (metric: string, seconds: number, note?: string): Row => ({
    metric,
    unit: "us/job",
    values: { verk: seconds * 1e6 },
    ...(note === undefined ? {} : { note }),
  })
  const { plain, unique, duplicate } = figures
  return {
    scenario: "unique",
    title: `10. Unique enqueue against a plain one: ${figures.calls.toLocaleString("en-US")} sequential calls each, from the bench process, the kinds taking turns every ${Round}`,
    systems: ["verk"],
    rows: [
      row("Client.enqueue: per call", plain.call, "one call at a time: round trip included"),
      row("enqueueUnique, new key: per call", unique.call, "lock taken and job written by one script"),
      row("enqueueUnique, held key: per call", duplicate.call, "a Duplicate: nothing written"),
      { metric: "enqueueUnique / enqueue", unit: "×", values: { verk: unique.call / plain.call } },
      row("Client.enqueue: client CPU", plain.client, "the bench process"),
      row("enqueueUnique, new key: client CPU", unique.client),
      row("enqueueUnique, held key: client CPU", duplicate.client),
      row("Client.enqueue: redis-server CPU", plain.redis),
      row("enqueueUnique, new key: redis-server CPU", unique.redis),
      row("enqueueUnique, held key: redis-server CPU", duplicate.redis),
    ],
  }
}
