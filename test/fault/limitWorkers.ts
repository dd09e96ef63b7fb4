/**
 * The workers of the limits' fault tests (limits.test.ts), run by limitWorkerMain.ts in real node
 * processes. Each records through Redis, with Redis's own clock (TIME, microseconds), so that the
 * test reads one timeline for every process:
 *
 *   limited:starts      sorted set  jid → when a `RateLimited` run started (µs)
 *   limited:admitted    sorted set  jid → when the rate limit admitted that run (ms, the limit's
 *                                   own record of the start, read from its window)
 *   free:ends           sorted set  jid → when a `Free` run ended (µs)
 *   perkey:<key>        sorted set  jid → when a `PerKey` run of that key started (µs)
 *   perkey-admitted:<key>  sorted set  jid → when the rate limit admitted it (ms)
 *   conc:running        hash        jid → pid, while a `Concurrent` run runs
 *   conc:dead-pids      set         pids the test killed (their entries no longer run)
 *   conc:max            string      the most `Concurrent` runs seen running at once
 *   conc:done           set         jids of `Concurrent` runs that ended
 *   conc:held-once      set         jids of `Concurrent` "holder" jobs that already held a slot
 */
import { Effect, Schema } from "effect"
import { Redis } from "ioredis"
import { CurrentJob } from "../../packages/core/src/CurrentJob.ts"
import * as Limits from "../../packages/core/src/Limits.ts"
import * as Worker from "../../packages/core/src/Worker.ts"

/**
 * Lazy: importing this module (as the tests do, for the definitions) opens no connection. The
 * worker process connects it before it runs (`connectRecorder`): a first stamp that had to connect
 * would be late by the connection's time.
 */
const recorder = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:1", {
  lazyConnect: true,
  maxRetriesPerRequest: null,
  retryStrategy: (attempt) => Math.min(50 * attempt, 500),
})
recorder.on("error", () => {})

/** Connects the recorder (the worker process, before it takes jobs). */
export const connectRecorder = (): Promise<void> => recorder.connect()

const StampScript = `local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(t[1]) * 1000000 + tonumber(t[2]), ARGV[1])
return 1`

/** Adds `jid` to the sorted set `key`, scored by Redis's clock now (µs). */
const stamp = (key: string, jid: string) => Effect.promise(() => recorder.eval(StampScript, 1, key, jid))

// Counts the runs of live processes only: a killed process's entries stay until their jobs rerun.
const EnterScript = `redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local entries = redis.call('HGETALL', KEYS[1])
local running = 0
for i = 1, #entries, 2 do
  if redis.call('SISMEMBER', KEYS[2], entries[i + 1]) == 0 then running = running + 1 end
end
local most = tonumber(redis.call('GET', KEYS[3]) or '0')
if running > most then redis.call('SET', KEYS[3], running) end
return running`

const jidOf = CurrentJob.use((job) => Effect.succeed(job.jid))

// The run's start as the rate limit recorded it: its member in the window ends with the jid.
const AdmittedScript = `local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local suffix = ':' .. ARGV[1]
for i = 1, #entries, 2 do
  if string.sub(entries[i], -#suffix) == suffix then
    redis.call('ZADD', KEYS[2], entries[i + 1], ARGV[1])
    return 1
  end
end
return 0`

/** Copies the run's start, as the rate limit `limit` recorded it, to the sorted set `into`. */
const admittedBy = (limit: string, into: string, jid: string) =>
  Effect.promise(() => recorder.eval(AdmittedScript, 2, `verk:limit:rate:${limit}`, into, jid))

/** 50 starts per second across every node. */
export const RateLimited = Worker.make({
  name: "RateLimited",
  queue: "limits",
  args: Schema.Tuple([Schema.Int]),
  limits: [Limits.rate({ name: "fault-rate", limit: 50, per: "1 second" })],
  perform: () =>
    Effect.flatMap(jidOf, (jid) =>
      stamp("limited:starts", jid).pipe(
        Effect.andThen(
          Effect.promise(() => recorder.eval(AdmittedScript, 2, "verk:limit:rate:fault-rate", "limited:admitted", jid)),
        ),
      ),
    ),
})

/** No limit, on the same queue: runs at full speed beside `RateLimited`. */
export const Free = Worker.make({
  name: "Free",
  queue: "limits",
  args: Schema.Tuple([Schema.Int]),
  perform: () => Effect.flatMap(jidOf, (jid) => stamp("free:ends", jid)),
})

/** 5 starts per second per customer. */
export const PerKey = Worker.make({
  name: "PerKey",
  queue: "limits",
  args: Schema.Tuple([Schema.String, Schema.Int]),
  limits: [
    Limits.rate({
      name: "fault-per-key",
      limit: 5,
      per: "1 second",
      key: ([customer]: readonly [string, number]) => customer,
    }),
  ],
  perform: ([customer]) =>
    Effect.flatMap(jidOf, (jid) =>
      stamp(`perkey:${customer}`, jid).pipe(
        Effect.andThen(admittedBy(`fault-per-key:${customer}`, `perkey-admitted:${customer}`, jid)),
      ),
    ),
})

/**
 * At most 4 running across every node; runs `millis`. A holder (`hold` true) runs 60 s the first
 * time, so that its node is killed while it holds its slot, and `millis` when it runs again.
 */
export const Concurrent = Worker.make({
  name: "Concurrent",
  queue: "limits",
  args: Schema.Tuple([Schema.Int, Schema.Int, Schema.Boolean]),
  limits: [Limits.concurrency({ name: "fault-conc", limit: 4, snooze: "100 millis" })],
  perform: ([, millis, hold]) =>
    Effect.gen(function* () {
      const { jid } = yield* CurrentJob
      yield* Effect.promise(() =>
        recorder.eval(EnterScript, 3, "conc:running", "conc:dead-pids", "conc:max", jid, String(process.pid)),
      )
      const first = hold && (yield* Effect.promise(() => recorder.sadd("conc:held-once", jid))) === 1
      yield* Effect.sleep(first ? 60_000 : millis)
      yield* Effect.promise(() => recorder.multi().hdel("conc:running", jid).sadd("conc:done", jid).exec())
    }),
})

export const limitWorkers = [RateLimited, Free, PerKey, Concurrent]
