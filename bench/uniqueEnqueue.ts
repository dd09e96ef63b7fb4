/**
 * The cost of a unique enqueue against a plain one (BENCH_ONLY=unique): from the bench process,
 * one call at a time, `Client.enqueue`, `Client.enqueueUnique` with a fresh key each time (the lock
 * is taken and the job written), and `Client.enqueueUnique` of a key already held (a duplicate:
 * nothing written), each timed per call with redis-server's CPU per call.
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
  /** Seconds per call, and redis-server CPU seconds per call. */
  readonly plain: { readonly call: number; readonly redis: number }
  readonly unique: { readonly call: number; readonly redis: number }
  readonly duplicate: { readonly call: number; readonly redis: number }
}

const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

/** Times `calls` sequential runs of `call(i)`: wall and redis-server CPU seconds per call. */
const timed = async (admin: Redis, calls: number, call: (i: number) => Promise<unknown>) => {
  const cpuBefore = await redisCpuSeconds(admin)
  const began = performance.now()
  for (let i = 0; i < calls; i++) await call(i)
  const seconds = (performance.now() - began) / 1000
  const cpu = (await redisCpuSeconds(admin)) - cpuBefore
  return { call: seconds / calls, redis: cpu / calls }
}

export const runUniqueEnqueue = async (options: {
  readonly url: string
  readonly admin: Redis
  readonly calls: number
}): Promise<UniqueFigures> => {
  const { url, admin, calls } = options
  const runtime = ManagedRuntime.make(
    Client.layer.pipe(Layer.provideMerge(RedisStore.layer({ url })), Layer.provide(quiet)),
  )
  try {
    // Warm-up: connections, scripts loaded, code paths compiled.
    for (let i = 0; i < 200; i++) {
      await runtime.runPromise(Client.enqueue(Probe, [0]))
      await runtime.runPromise(Client.enqueueUnique(Probe, [i], { unique: { key: () => `warm-${i}` } }))
    }
    await admin.flushall()
    const plain = await timed(admin, calls, (i) => runtime.runPromise(Client.enqueue(Probe, [i])))
    const unique = await timed(admin, calls, (i) =>
      runtime.runPromise(Client.enqueueUnique(Probe, [i], { unique: { key: () => `key-${i}` } })),
    )
    const duplicate = await timed(admin, calls, (i) =>
      runtime.runPromise(
        Effect.tap(Client.enqueueUnique(Probe, [i], { unique: { key: () => "key-0" } }), (result) =>
          result._tag === "Duplicate" ? Effect.void : Effect.die(new Error("bench: expected a duplicate")),
        ),
      ),
    )
    return { calls, plain, unique, duplicate }
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
    title: `9. Unique enqueue against a plain one: ${figures.calls.toLocaleString("en-US")} sequential calls each, from the bench process`,
    systems: ["verk"],
    rows: [
      row("Client.enqueue: per call", plain.call, "one call at a time: round trip included"),
      row("enqueueUnique, new key: per call", unique.call, "lock taken and job written by one script"),
      row("enqueueUnique, held key: per call", duplicate.call, "a Duplicate: nothing written"),
      { metric: "enqueueUnique / enqueue", unit: "×", values: { verk: unique.call / plain.call } },
      row("Client.enqueue: redis-server CPU", plain.redis),
      row("enqueueUnique, new key: redis-server CPU", unique.redis),
      row("enqueueUnique, held key: redis-server CPU", duplicate.redis),
    ],
  }
}
