/**
 * A BullMQ worker process for the drain phases: one `Worker` on BENCH_QUEUE at BENCH_CONCURRENCY,
 * on the redis-server at BENCH_REDIS_PORT, whose performs are reported to the bench (childReport.ts).
 * The processor returns at once, or for a job named "async" (the workload matrix's) or
 * "concurrency-limited" (the flow-control section's) first waits BENCH_ASYNC_WAIT_MILLIS on a
 * setTimeout promise. BENCH_LIMITER_MAX and BENCH_LIMITER_MILLIS, when set, give the worker
 * BullMQ's rate limiter (at most max jobs per that many milliseconds, for the whole queue). SIGTERM closes the worker (`worker.close()`, BullMQ's graceful
 * shutdown) and exits.
 */
import { setTimeout as wait } from "node:timers/promises"
import { type Job, Worker } from "bullmq"
import { startReporter } from "./childReport.ts"

const port = Number(process.env.BENCH_REDIS_PORT)
const queue = process.env.BENCH_QUEUE ?? "drain"
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? "25")
const asyncWaitMillis = Number(process.env.BENCH_ASYNC_WAIT_MILLIS ?? "10")
const limiterMax = Number(process.env.BENCH_LIMITER_MAX ?? "0")
const limiterMillis = Number(process.env.BENCH_LIMITER_MILLIS ?? "1000")
if (!Number.isInteger(port) || port <= 0) {
  console.error("bullmqWorkerMain: BENCH_REDIS_PORT is required (the bench's private redis-server)")
  process.exit(2)
}

const performed = startReporter()
const worker = new Worker(
  queue,
  async (job: Job) => {
    if (job.name === "async" || job.name === "concurrency-limited") await wait(asyncWaitMillis)
    performed()
  },
  {
    connection: { host: "127.0.0.1", port, maxRetriesPerRequest: null },
    concurrency,
    ...(limiterMax > 0 ? { limiter: { max: limiterMax, duration: limiterMillis } } : {}),
  },
)
worker.on("error", (error) => console.error(`BullMQ worker error: ${error.message}`))
await worker.waitUntilReady()
process.stdout.write(`BENCH ready pid=${process.pid}\n`)

process.once("SIGTERM", () => {
  worker.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`worker.close() failed: ${String(error)}`)
      process.exit(1)
    },
  )
})
