/**
 * The cost per job of a worker thread (BENCH_ONLY=threads): in the bench process, a node
 * (Verk.layer on RedisStore, with `@verk/node`'s `Threads.layer`) drains N no-op jobs run in its
 * own event loop, then N of the same no-op marked `thread: true`, at concurrency 25. The jobs are
 * enqueued while the queue is paused; the clock and CPU run from its resume to the empty queue,
 * after an unmeasured warm-up of each. Process CPU counts every thread of the process (the worker
 * threads' too).
 */
import { Client, Verk } from "@verk/core"
import { Threads } from "@verk/node"
import { RedisStore } from "@verk/redis"
import { Layer, ManagedRuntime, References } from "effect"
import type { Redis } from "ioredis"
import type { Row, Section } from "./report.ts"
import { redisCpuSeconds } from "./support.ts"
import { NoOpHere, NoOpThreaded } from "./threadWorkers.ts"

/** One drain: wall seconds, this process's CPU seconds (all its threads), redis-server's. */
export interface Drain {
  readonly seconds: number
  readonly cpu: number
  readonly redis: number
}

export interface ThreadFigures {
  readonly jobs: number
  readonly threads: number
  readonly here: Drain
  readonly threaded: Drain
}

const Concurrency = 25
const Queue = "threads"

export const plan = (quick: boolean) => ({ jobs: quick ? 400 : 20_000, threads: 2 })

export const run = async (options: {
  readonly url: string
  readonly admin: Redis
  readonly jobs: number
  readonly threads: number
}): Promise<ThreadFigures> => {
  const { url, admin, jobs, threads } = options
  const node = Verk.layer({ workers: [NoOpHere, NoOpThreaded], queues: {} }).pipe(
    Layer.provide(Threads.layer({ module: new URL("./threadWorkers.ts", import.meta.url), size: threads })),
    Layer.provideMerge(Client.layer),
    Layer.provideMerge(RedisStore.layer({ url })),
    Layer.provide(Layer.succeed(References.MinimumLogLevel, "Warn")),
  )
  const runtime = ManagedRuntime.make(node)
  const pause = (paused: boolean) =>
    runtime.runPromise(Verk.Verk.use((verk) => (paused ? verk.pause(Queue) : verk.resume(Queue))))
  const drain = async (worker: typeof NoOpHere, count: number): Promise<Drain> => {
    await pause(true)
    const argsList = Array.from({ length: count }, () => [] as const)
    await runtime.runPromise(Client.enqueueMany(worker, argsList, { queue: Queue }))
    const redisBefore = await redisCpuSeconds(admin)
    const cpuBefore = process.cpuUsage()
    const began = performance.now()
    await pause(false)
    // Polled every 10 ms: the poll's own CPU falls on both drains alike.
    while ((await admin.llen(`queue:${Queue}`)) > 0 || (await inProgress(admin)) > 0) {
      await new Promise((done) => setTimeout(done, 10))
    }
    const seconds = (performance.now() - began) / 1000
    const cpu = process.cpuUsage(cpuBefore)
    return { seconds, cpu: (cpu.user + cpu.system) / 1e6, redis: (await redisCpuSeconds(admin)) - redisBefore }
  }
  try {
    await runtime.runPromise(Verk.Verk.use((verk) => verk.addQueue(Queue, Concurrency)))
    // Warm-up, unmeasured: code paths compiled, every thread started.
    await drain(NoOpHere, Math.min(jobs, 500))
    await drain(NoOpThreaded, Math.min(jobs, 500))
    const here = await drain(NoOpHere, jobs)
    const threaded = await drain(NoOpThreaded, jobs)
    return { jobs, threads, here, threaded }
  } finally {
    await runtime.dispose()
  }
}

/** Jobs in progress on any node (the bench's only node). */
const inProgress = async (admin: Redis): Promise<number> => {
  let count = 0
  for (const key of await admin.keys("inprogress:*")) count += await admin.hlen(key)
  return count
}

export const section = (figures: ThreadFigures): Section => {
  const { jobs, threads, here, threaded } = figures
  const perJob = (seconds: number) => (seconds / jobs) * 1e6
  const row = (metric: string, value: number, note?: string): Row => ({
    metric,
    unit: "us/job",
    values: { verk: value },
    ...(note === undefined ? {} : { note }),
  })
  return {
    scenario: "threads",
    title: `11. Jobs in worker threads: ${jobs.toLocaleString("en-US")} no-op jobs at concurrency ${Concurrency}, in the node's event loop, then in ${threads} worker threads (one node in the bench process)`,
    systems: ["verk"],
    rows: [
      { metric: "In the event loop: drain throughput", unit: "jobs/s", values: { verk: jobs / here.seconds } },
      { metric: "In worker threads: drain throughput", unit: "jobs/s", values: { verk: jobs / threaded.seconds } },
      row("In the event loop: process CPU", perJob(here.cpu), "every thread of the process"),
      row("In worker threads: process CPU", perJob(threaded.cpu), "the threads' CPU included"),
      row(
        "A worker thread's cost per job",
        perJob(threaded.cpu - here.cpu),
        "CPU, threaded minus in the event loop: messages, the thread's decode, and smaller fetches (jobs wait for a thread in their slots)",
      ),
      row("In the event loop: redis-server CPU", perJob(here.redis)),
      row("In worker threads: redis-server CPU", perJob(threaded.redis)),
    ],
  }
}
