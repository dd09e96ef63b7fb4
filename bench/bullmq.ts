/**
 * The peer: BullMQ, run through the same phases. Jobs are added with `removeOnComplete: true`
 * because Verk keeps nothing of a finished job either (BullMQ's default keeps every one).
 */
import { type Job, Queue, Worker } from "bullmq"
import type { Redis } from "ioredis"
import { commandsDuring, cpuMeter, deferred, foreignConnections, sleep } from "./support.ts"
import type { DrainResult, IdleLoad, IdleOptions } from "./verk.ts"

const connection = (port: number) => ({ host: "127.0.0.1", port, maxRetriesPerRequest: null })
const jobOptions = { removeOnComplete: true, removeOnFail: true }
const AddBulkBatch = 1_000

export const enqueueAndDrain = async (
  port: number,
  admin: Redis,
  jobs: number,
  concurrency: number,
): Promise<DrainResult> => {
  const queue = new Queue("drain", { connection: connection(port) })
  await queue.waitUntilReady()
  const enqueueBegan = performance.now()
  for (let first = 0; first < jobs; first += AddBulkBatch) {
    const size = Math.min(AddBulkBatch, jobs - first)
    await queue.addBulk(Array.from({ length: size }, () => ({ name: "noop", data: {}, opts: jobOptions })))
  }
  const enqueueSeconds = (performance.now() - enqueueBegan) / 1000
  await queue.close()

  let performed = 0
  let finishedAt = 0
  const all = deferred<void>("BullMQ drain", 150_000)
  const cpu = await cpuMeter(admin)
  const began = performance.now()
  const worker = new Worker(
    "drain",
    async () => {
      performed++
      if (performed === jobs) {
        finishedAt = performance.now()
        all.resolve()
      }
    },
    { connection: connection(port), concurrency },
  )
  await worker.waitUntilReady()
  const startupMillis = performance.now() - began
  await all.promise
  const drainSeconds = (finishedAt - began) / 1000
  const used = await cpu.end()
  await sleep(200)
  const stopBegan = performance.now()
  await worker.close()
  return {
    enqueuePerSecond: jobs / enqueueSeconds,
    drainPerSecond: jobs / drainSeconds,
    drainSeconds,
    startupMillis,
    shutdownMillis: performance.now() - stopBegan,
    performed,
    nodeCpuSeconds: used.node,
    redisCpuSeconds: used.redis,
    processedStat: undefined,
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
export const idleLoad = async (port: number, admin: Redis, queues: number, windowMillis: number): Promise<IdleLoad> => {
  const workers = Array.from(
    { length: queues },
    (_, i) => new Worker(`idle-${i}`, async () => {}, { connection: connection(port), concurrency: 25 }),
  )
  await Promise.all(workers.map((worker) => worker.waitUntilReady()))
  await sleep(1_500)
  const connections = await foreignConnections(admin)
  const { perSecond, breakdown } = await commandsDuring(admin, windowMillis)
  await Promise.all(workers.map((worker) => worker.close()))
  return { queues, connections, commandsPerSecond: perSecond, breakdown }
}
