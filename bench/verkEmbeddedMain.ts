/**
 * The workload matrix's "embedded" row: Verk as an Effect app embeds it, `Verk.layer` with the
 * Redis store layer, in the very process that enqueued the jobs. Run from source, not bundled
 * (`node --conditions=@verk/source bench/verkEmbeddedMain.ts`), with plain Node flags.
 *
 * Pauses the "default" queue, enqueues BENCH_JOBS no-op jobs whose one arg is a string of
 * BENCH_ARG_BYTES bytes (`Client.enqueueMany`), starts the node (`Verk.layer`, "default" at
 * BENCH_CONCURRENCY) and says `BENCH ready pid=<pid>`; the bench resumes the queue, and this
 * process reports its performs, with its own CPU time from the first to the last, as the worker
 * processes do (childReport.ts). SIGTERM interrupts the program, which closes the node.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Client, Store, Verk } from "@verk/core"
import { RedisStore } from "@verk/redis"
import { Effect, Layer } from "effect"
import { startReporter } from "./childReport.ts"
import { hooks, Payload } from "./verkWorkers.ts"

const url = process.env.REDIS_URL ?? ""
const jobs = Number(process.env.BENCH_JOBS)
const argBytes = Number(process.env.BENCH_ARG_BYTES ?? "10")
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? "25")
if (url === "" || !Number.isInteger(jobs) || jobs <= 0) {
  console.error("verkEmbeddedMain: REDIS_URL (the bench's private redis-server) and BENCH_JOBS are required")
  process.exit(2)
}

hooks.noOp = startReporter()
const payload = "x".repeat(argBytes)
/** Jobs per `enqueueMany` call (which sends them 1,000 per round trip), as the bench process does. */
const Chunk = 10_000

const program = Effect.gen(function* () {
  const store = yield* Store.Store
  yield* store.setPaused("default", true)
  for (let first = 0; first < jobs; first += Chunk) {
    const size = Math.min(Chunk, jobs - first)
    yield* Client.enqueueMany(
      Payload,
      Array.from({ length: size }, () => [payload] as const),
    )
  }
  // The node runs as long as this scope is open: until SIGTERM interrupts the program.
  yield* Layer.build(
    Verk.layer({
      queues: { default: concurrency },
      workers: [Payload],
      // No per-job log lines, as in the worker processes.
      logLevels: { start: "None", done: "None" },
    }),
  )
  yield* Effect.sync(() => process.stdout.write(`BENCH ready pid=${process.pid}\n`))
  return yield* Effect.never
}).pipe(Effect.scoped, Effect.provide(Client.layer.pipe(Layer.provideMerge(RedisStore.layer({ url })))))

NodeRuntime.runMain(program)
