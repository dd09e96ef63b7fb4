/**
 * The workers the fault tests' child processes run. Each writes what it did to Redis on a client
 * of its own (created here, from REDIS_URL), so that the test can tell, after any crash, which
 * jobs ran, how often, when and in which process:
 *
 *   done              set   jids that completed a run of `Record`
 *   runs              hash  `<jid>:<run id>` → start millis, one field per run (Record, Crash);
 *                           a field per run keeps the count right if a write is sent twice
 *   started:<pid>     hash  jid → epoch millis when that process started the job (Record)
 *   slow:started      set   jids of `Slow` jobs that began
 *
 * These keys live outside Verk's data model (no namespace is used in the fault tests). They are
 * written to RECORD_REDIS_URL when set (a test that puts a proxy in front of Verk's own
 * connections keeps the workers' bookkeeping off it), else to REDIS_URL.
 */
import { randomBytes } from "node:crypto"
import { Effect, Schema } from "effect"
import { Redis } from "ioredis"
import { CurrentJob } from "../../packages/core/src/CurrentJob.ts"
import * as Worker from "../../packages/core/src/Worker.ts"

/** Lazy: importing this module (as the tests do, for the definitions) opens no connection. */
export const recorder = new Redis(process.env.RECORD_REDIS_URL ?? process.env.REDIS_URL ?? "redis://127.0.0.1:1", {
  lazyConnect: true,
  // Never give up on a write while Redis restarts: a failed write would fail the job.
  maxRetriesPerRequest: null,
  retryStrategy: (attempt) => Math.min(50 * attempt, 500),
})
recorder.on("error", () => {})

const recordMillis = Number(process.env.RECORD_SLEEP_MS ?? "3")

const runId = () => randomBytes(4).toString("hex")

const write = (what: string, commands: (multi: ReturnType<Redis["multi"]>) => void) =>
  Effect.tryPromise({
    try: async () => {
      const multi = recorder.multi()
      commands(multi)
      const replies = await multi.exec()
      const failed = replies?.find(([error]) => error !== null)
      if (replies === null || failed !== undefined) throw new Error(`${what}: ${String(failed?.[0] ?? "aborted")}`)
    },
    catch: (cause) => new Error(`${what} failed: ${String(cause)}`),
  })

/** Record's run: sleeps a few milliseconds, then records the run. */
const recordRun = Effect.gen(function* () {
  const { jid } = yield* CurrentJob
  const startedMillis = Date.now()
  yield* Effect.sleep(recordMillis)
  yield* write("Record", (multi) =>
    multi
      .sadd("done", jid)
      .hset("runs", `${jid}:${runId()}`, startedMillis)
      .hset(`started:${process.pid}`, jid, startedMillis),
  )
})

/** Sleeps a few milliseconds (RECORD_SLEEP_MS, default 3), then records its run. */
export const Record = Worker.make({
  name: "Record",
  args: Schema.Tuple([Schema.Int]),
  perform: () => recordRun,
})

/** Record with a large arg (a string of a few KB): its jobs are taken whole (see fetch.lua). */
export const RecordLarge = Worker.make({
  name: "RecordLarge",
  args: Schema.Tuple([Schema.Int, Schema.String]),
  perform: () => recordRun,
})

/** Says it began, then sleeps for 10 s (long enough to be caught by a shutdown). */
export const Slow = Worker.make({
  name: "Slow",
  args: Schema.Tuple([Schema.Int]),
  perform: () =>
    Effect.gen(function* () {
      const { jid } = yield* CurrentJob
      yield* write("Slow", (multi) => multi.sadd("slow:started", jid))
      yield* Effect.sleep("10 seconds")
    }),
})

/** A poison pill: counts its run, then kills its own process, every time. */
export const Crash = Worker.make({
  name: "Crash",
  args: Schema.Tuple([Schema.Int]),
  perform: () =>
    Effect.gen(function* () {
      const { jid } = yield* CurrentJob
      yield* write("Crash", (multi) => multi.hset("runs", `${jid}:${runId()}`, Date.now()))
      yield* Effect.sync(() => process.kill(process.pid, "SIGKILL"))
      yield* Effect.never
    }),
})

export const workers = [Record, RecordLarge, Slow, Crash]
