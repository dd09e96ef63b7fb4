/**
 * The peer: BullMQ, run through the same phases. Jobs are added with `removeOnComplete: true`
 * because Verk keeps nothing of a finished job either (BullMQ's default keeps every one).
 */
import { type Job, Queue, Worker } from "bullmq"
import type { Redis } from "ioredis"
import { baseEnv, drainWithProcesses, idleRssAfter, spawnWorker } from "./processes.ts"
import { commandsDuring, deferred, foreignConnections, sleep } from "./support.ts"
import { type DrainOptions, type DrainResult, type IdleLoad, type IdleOptions, payloadOf } from "./verk.ts"
import { AsyncWaitMillis, ConcurrentJobs, RatePerSecond } from "./verkWorkers.ts"

const connection = (port: number) => ({ host: "127.0.0.1", port, maxRetriesPerRequest: null })
const jobOptions = { removeOnComplete: true, removeOnFail: true }
const AddBulkBatch = 1_000

/** A BullMQ worker process (bullmqWorkerMain.ts) on the "drain" queue; `env` instead of the bench's own, when given. */
export const spawnBullWorker = (
  port: number,
  options: Pick<DrainOptions, "concurrency" | "bundles" | "workload">,
  label: string,
  env: Readonly<Record<string, string>> = baseEnv(),
) =>
  spawnWorker({
    label,
    command: process.execPath,
    args: [options.bundles.bullmq],
    env: {
      ...env,
      BENCH_REDIS_PORT: String(port),
      BENCH_QUEUE: "drain",
      BENCH_CONCURRENCY: String(options.concurrency),
      BENCH_ASYNC_WAIT_MILLIS: String(AsyncWaitMillis),
      // The flow-control section's rate-limited jobs: BullMQ's limiter is the queue's, across workers.
      ...(options.workload?.kind === "rate-limited"
        ? { BENCH_LIMITER_MAX: String(RatePerSecond), BENCH_LIMITER_MILLIS: "1000" }
        : {}),
    },
    readyLine: /^BENCH ready pid=/,
  })

/** A worker process left idle `idleMillis` after it is ready: its RSS. */
export const idleRss = (port: number, options: Pick<DrainOptions, "concurrency" | "bundles">, idleMillis: number) =>
  idleRssAfter(() => spawnBullWorker(port, options, "bullmq-worker-idle"), idleMillis, 60_000, 30_000)

/**
 * Adds `jobs` jobs with `addBulk` (1,000 per call): no-op ones with no data, or the workload's
 * (named "noop" or "async", data `{ payload: <string of argBytes bytes> }`), pauses the queue (BullMQ's own pause),
 * starts the worker processes, and resumes it once they are ready.
 */
export const enqueueAndDrain = async (port: number, options: DrainOptions): Promise<DrainResult> => {
  const queue = new Queue("drain", { connection: connection(port) })
  try {
    await queue.waitUntilReady()
    const workload = options.workload
    // The processor waits for "async" and "concurrency-limited" jobs (bullmqWorkerMain.ts).
    const name = workload === undefined || workload.kind === "no-op" ? "noop" : workload.kind
    const data = workload === undefined ? {} : { payload: payloadOf(workload.argBytes) }
    const enqueueBegan = performance.now()
    for (let first = 0; first < options.jobs; first += AddBulkBatch) {
      const size = Math.min(AddBulkBatch, options.jobs - first)
      await queue.addBulk(Array.from({ length: size }, () => ({ name, data, opts: jobOptions })))
    }
    const enqueueSeconds = (performance.now() - enqueueBegan) / 1000
    await queue.pause()
    // The flow-control section's concurrency-limited jobs: BullMQ's global concurrency, across workers.
    if (workload?.kind === "concurrency-limited") await queue.setGlobalConcurrency(ConcurrentJobs)
    const drained = await drainWithProcesses({
      label: `BullMQ drain (${options.processes} process(es))`,
      admin: options.admin,
      jobs: options.jobs,
      processes: options.processes,
      settleMillis: options.settleMillis,
      readyTimeoutMillis: 60_000,
      shutdownGraceMillis: 30_000,
      spawn: (i) => spawnBullWorker(port, options, `bullmq-worker-${i + 1}`),
      release: () => queue.resume(),
    })
    return { ...drained, enqueuePerSecond: options.jobs / enqueueSeconds, processedStat: undefined }
  } finally {
    await queue.close()
  }
}

export interface PeerIdleResult {
  readonly pickup: ReadonlyArray<number>
  readonly enqueueCall: ReadonlyArray<number>
  readonly lateness: ReadonlyArray<number>
  readonly shutdownMillis: number
}

export const idleLatencies = async (port: number, options: IdleOptions): Promise<PeerIdleResult> => {
  let onJob: (job: Job) => void = () => {}
  const queue = new Queue("idle", { connection: connection(port) })
  const worker = new Worker("idle", async (job: Job) => onJob(job), { connection: connection(port), concurrency: 25 })
  await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()])
  await sleep(500)

  const pickup: Array<number> = []
  const enqueueCall: Array<number> = []
  for (let i = 0; i < options.pickupJobs; i++) {
    const picked = deferred<number>("BullMQ pickup", 10_000)
    onJob = () => picked.resolve(performance.now())
    const began = performance.now()
    await queue.add("probe", { i }, jobOptions)
    enqueueCall.push(performance.now() - began)
    pickup.push((await picked.promise) - began)
    await sleep(10)
  }

  const lateness: Array<number> = []
  const allDue = deferred<void>("BullMQ scheduled", 30_000)
  onJob = (job) => {
    lateness.push(Date.now() - (job.data as { dueAt: number }).dueAt)
    if (lateness.length === options.scheduledJobs) allDue.resolve()
  }
  const [min, max] = options.scheduleWindow
  for (let i = 0; i < options.scheduledJobs; i++) {
    const now = Date.now()
    const delay = min + ((max - min) * i) / Math.max(1, options.scheduledJobs - 1)
    await queue.add("probe", { dueAt: now + delay }, { ...jobOptions, delay })
  }
  await allDue.promise

  const stopBegan = performance.now()
  await worker.close()
  const shutdownMillis = performance.now() - stopBegan
  await queue.close()
  return { pickup, enqueueCall, lateness, shutdownMillis }
}

/** BullMQ needs one Worker per queue. */
export const idleLoad = async (
  port: number,
  admin: Redis,
  queues: number,
  windowMillis: number,
  settleMillis: number,
): Promise<IdleLoad> => {
  const workers = Array.from(
    { length: queues },
    (_, i) => new Worker(`idle-${i}`, async () => {}, { connection: connection(port), concurrency: 25 }),
  )
  await Promise.all(workers.map((worker) => worker.waitUntilReady()))
  await sleep(settleMillis)
  const connections = await foreignConnections(admin)
  const { perSecond, breakdown } = await commandsDuring(admin, windowMillis)
  await Promise.all(workers.map((worker) => worker.close()))
  return { queues, connections, commandsPerSecond: perSecond, breakdown }
}
