/**
 * `npm run bench`: Verk against a peer (BullMQ) on a private redis-server, in one run:
 * drain and enqueue throughput, idle pickup latency, foreign-push pickup, scheduled-job lateness,
 * and the Redis load of an idle node. Progress goes to stderr; the table to stdout.
 */
import { readFileSync } from "node:fs"
import os from "node:os"
import { monitorEventLoopDelay } from "node:perf_hooks"
import type { Redis } from "ioredis"
import { startRedisServer } from "../test/support/redisServer.ts"
import * as Peer from "./bullmq.ts"
import {
  awaitConnectionsClosed,
  connectAdmin,
  fmtInt,
  fmtMicros,
  fmtMs,
  fmtRate,
  percentile,
  type Row,
  renderTable,
  type Section,
} from "./support.ts"
import * as Verk from "./verk.ts"

const DrainJobs = 50_000
const DrainConcurrency = 25
const IdleOptions: Verk.IdleOptions = {
  pickupJobs: 200,
  foreignJobs: 20,
  scheduledJobs: 200,
  scheduleWindow: [500, 3_000],
}
const IdleQueueCounts = [1, 3, 10] as const
const IdleWindowMillis = 5_000
/** Verk's default `pollInterval` (Config.ts): the bench runs with it. */
const PollIntervalMillis = 1_000

const progress = (message: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`)

const packageVersion = (name: string): string => {
  const path = new URL(`../node_modules/${name}/package.json`, import.meta.url)
  return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version
}

const redisVersion = async (admin: Redis): Promise<string> => {
  const info = (await admin.call("INFO", "server")) as string
  return /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown"
}

/** Starts each phase on an empty server, and checks the phase before it closed all its connections. */
const fresh = async (admin: Redis, label: string) => {
  const left = await awaitConnectionsClosed(admin)
  if (left > 0) progress(`WARNING: ${left} connection(s) still open before ${label}`)
  await admin.flushall()
  progress(label)
}

const latencyRows = (
  name: string,
  verk: ReadonlyArray<number> | undefined,
  peer: ReadonlyArray<number> | undefined,
  note: string,
): Array<Row> =>
  (
    [
      ["p50", 50],
      ["p99", 99],
      ["max", 100],
    ] as const
  ).map(([label, p], i) => ({
    metric: `${name} ${label}`,
    verk: verk === undefined ? "n/a" : fmtMs(percentile(verk, p)),
    peer: peer === undefined ? "n/a" : fmtMs(percentile(peer, p)),
    ...(i === 0 ? { note } : {}),
  }))

/** Largest event-loop delay while `run` runs: a stall of the whole process shows up in every tail. */
const withStallMonitor = async <A>(run: () => Promise<A>): Promise<[A, number]> => {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  try {
    const result = await run()
    return [result, histogram.max / 1e6]
  } finally {
    histogram.disable()
  }
}

const loadAverage = () => os.loadavg()[0]!.toFixed(2)

const main = async () => {
  const began = performance.now()
  const server = await startRedisServer()
  const admin = await connectAdmin(server.url)
  try {
    const cpus = os.cpus()
    const header = [
      "Verk bench",
      `machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.platform()} ${os.release()}`,
      `load average (1 min) at start: ${loadAverage()} — other processes on the host add noise to the tails`,
      `node ${process.version}, redis-server ${await redisVersion(admin)} (private, 127.0.0.1:${server.port}, no persistence)`,
      `effect ${packageVersion("effect")}, ioredis ${packageVersion("ioredis")}, peer bullmq ${packageVersion("bullmq")}`,
      `Verk settings: defaults (pollInterval ${PollIntervalMillis} ms), minimum log level Warn (per-job Info lines dropped)`,
      "BullMQ settings: defaults; jobs added with removeOnComplete/removeOnFail (Verk keeps no finished job either)",
    ]

    await fresh(admin, `Verk: enqueue ${DrainJobs} jobs, then drain at concurrency ${DrainConcurrency}`)
    const verkDrain = await Verk.enqueueAndDrain(server.url, admin, DrainJobs, DrainConcurrency)
    await fresh(admin, `BullMQ: addBulk ${DrainJobs} jobs, then drain at concurrency ${DrainConcurrency}`)
    const peerDrain = await Peer.enqueueAndDrain(server.port, admin, DrainJobs, DrainConcurrency)

    await fresh(admin, "Verk: idle pickup, foreign LPUSH pickup, scheduled lateness")
    const [verkIdle, verkStall] = await withStallMonitor(() => Verk.idleLatencies(server.url, admin, IdleOptions))
    await fresh(admin, "BullMQ: idle pickup, scheduled lateness")
    const [peerIdle, peerStall] = await withStallMonitor(() => Peer.idleLatencies(server.port, IdleOptions))

    const verkLoad: Array<Verk.IdleLoad> = []
    const peerLoad: Array<Verk.IdleLoad> = []
    for (const queues of IdleQueueCounts) {
      await fresh(admin, `Verk: idle node on ${queues} queue(s)`)
      verkLoad.push(await Verk.idleLoad(server.url, admin, queues, IdleWindowMillis))
    }
    for (const queues of IdleQueueCounts) {
      await fresh(admin, `BullMQ: idle workers on ${queues} queue(s)`)
      peerLoad.push(await Peer.idleLoad(server.port, admin, queues, IdleWindowMillis))
    }
    const leftOpen = await awaitConnectionsClosed(admin)

    const drainSection: Section = {
      title: `1. Throughput: ${fmtInt(DrainJobs)} no-op jobs, concurrency ${DrainConcurrency}`,
      rows: [
        {
          metric: "Enqueue throughput",
          verk: fmtRate(verkDrain.enqueuePerSecond),
          peer: fmtRate(peerDrain.enqueuePerSecond),
          note: "enqueueMany / addBulk, 1,000 jobs per call",
        },
        {
          metric: "Drain throughput",
          verk: fmtRate(verkDrain.drainPerSecond),
          peer: fmtRate(peerDrain.drainPerSecond),
          note: "runtime start → last perform",
        },
        {
          metric: "Drain time",
          verk: `${verkDrain.drainSeconds.toFixed(2)} s`,
          peer: `${peerDrain.drainSeconds.toFixed(2)} s`,
        },
        {
          metric: "Jobs performed",
          verk: fmtInt(verkDrain.performed),
          peer: fmtInt(peerDrain.performed),
          note: "counted in perform, 200 ms after the last",
        },
        {
          metric: "stat:processed after shutdown",
          verk: verkDrain.processedStat === undefined ? "missing" : fmtInt(verkDrain.processedStat),
          peer: "n/a",
          note: "Sidekiq counter, flushed by Stats",
        },
        {
          metric: "Node CPU per job (drain)",
          verk: fmtMicros(verkDrain.nodeCpuSeconds / DrainJobs),
          peer: fmtMicros(peerDrain.nodeCpuSeconds / DrainJobs),
          note: "process.cpuUsage(), start → last perform",
        },
        {
          metric: "redis-server CPU per job (drain)",
          verk: fmtMicros(verkDrain.redisCpuSeconds / DrainJobs),
          peer: fmtMicros(peerDrain.redisCpuSeconds / DrainJobs),
          note: "INFO cpu used_cpu_user + used_cpu_sys",
        },
        {
          metric: "Runtime start-up",
          verk: fmtMs(verkDrain.startupMillis),
          peer: fmtMs(peerDrain.startupMillis),
          note: "layer built / worker ready",
        },
        {
          metric: "Shutdown after drain",
          verk: fmtMs(verkDrain.shutdownMillis),
          peer: fmtMs(peerDrain.shutdownMillis),
          note: "dispose / worker.close()",
        },
      ],
    }
    const pickupSection: Section = {
      title: `2. Idle pickup latency: ${IdleOptions.pickupJobs} jobs, one at a time (enqueue start → perform start)`,
      rows: [
        ...latencyRows("Enqueue call", verkIdle.enqueueCall, peerIdle.enqueueCall, "Client.enqueue / queue.add"),
        ...latencyRows("Pickup", verkIdle.pickup, peerIdle.pickup, "pub/sub wake-up / blocking pop"),
      ],
    }
    const foreignSection: Section = {
      title: `3. Foreign push pickup: ${IdleOptions.foreignJobs} raw LPUSHes of Sidekiq JSON (pollInterval ${PollIntervalMillis} ms)`,
      rows: latencyRows("Pickup", verkIdle.foreign, undefined, "bounded by pollInterval; BullMQ has no such path"),
    }
    const scheduledSection: Section = {
      title: `4. Scheduled lateness: ${IdleOptions.scheduledJobs} jobs due ${IdleOptions.scheduleWindow[0] / 1000}–${IdleOptions.scheduleWindow[1] / 1000} s ahead (perform start − due time)`,
      rows: [
        ...latencyRows("Lateness", verkIdle.lateness, peerIdle.lateness, "Client.schedule(DateTime) / add({ delay })"),
        {
          metric: "Event-loop delay max, phases 2–4",
          verk: fmtMs(verkStall),
          peer: fmtMs(peerStall),
          note: "a whole-process stall (GC, CPU taken by others) shows in every tail",
        },
        {
          metric: "Shutdown when idle",
          verk: fmtMs(verkIdle.shutdownMillis),
          peer: fmtMs(peerIdle.shutdownMillis),
        },
      ],
    }
    const loadSection: Section = {
      title: `5. Idle node Redis load (${IdleWindowMillis / 1000} s window, INFO commandstats incl. commands inside Lua)`,
      rows: IdleQueueCounts.flatMap((queues, i) => [
        {
          metric: `${queues} queue(s): commands/s`,
          verk: verkLoad[i]!.commandsPerSecond.toFixed(1),
          peer: peerLoad[i]!.commandsPerSecond.toFixed(1),
        },
        {
          metric: `${queues} queue(s): connections`,
          verk: String(verkLoad[i]!.connections),
          peer: String(peerLoad[i]!.connections),
          note: i === 0 ? "CLIENT LIST minus the bench's admin connection" : "",
        },
      ]),
    }

    const breakdown = [
      "Idle commands per second, by command:",
      ...IdleQueueCounts.flatMap((queues, i) => [
        `  Verk,   ${String(queues).padStart(2)} queue(s): ${verkLoad[i]!.breakdown}`,
        `  BullMQ, ${String(queues).padStart(2)} queue(s): ${peerLoad[i]!.breakdown}`,
      ]),
    ]

    process.stdout.write(
      [
        "",
        ...header,
        "",
        renderTable(`BullMQ ${packageVersion("bullmq")}`, [
          drainSection,
          pickupSection,
          foreignSection,
          scheduledSection,
          loadSection,
        ]),
        "",
        ...breakdown,
        "",
        `Connections left open at the end: ${leftOpen}. Load average at the end: ${loadAverage()}. Total bench time: ${((performance.now() - began) / 1000).toFixed(1)} s`,
        "",
      ].join("\n"),
    )
  } finally {
    await admin.quit().catch(() => admin.disconnect())
    await server.stop()
  }
}

main().then(
  () => {
    // Everything was closed above; a handle still open would keep node alive, so say so and leave.
    setTimeout(() => {
      process.stderr.write("bench: something kept the process alive after the run\n")
      process.exit(1)
    }, 5_000).unref()
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
