/**
 * `npm run bench`: Verk against its peers (BullMQ, and Ruby Sidekiq when it is installed) on a
 * private redis-server, in one run: enqueue and drain throughput with the CPU each job costs the
 * worker process and redis-server, worker memory, idle pickup latency, foreign-push pickup,
 * scheduled-job lateness, the Redis load of an idle node, scale-out of worker processes on one
 * Redis and on a Redis Cluster, the start-up of `verk run` and of a BullMQ worker, and `verk --help`'s
 * (startup.ts), and a workload matrix (real jobs: args of 10 B–20 KB, no-op and
 * 10 ms async, concurrency 25 and 200; workloadMatrix.ts). Progress goes to stderr; the tables to
 * stdout.
 *
 *   npm run bench -- --quick              every scenario with small counts (proves the bench works;
 *                                         its figures mean little)
 *   npm run bench -- --json <file>        also writes every figure, with the run's metadata, as JSON
 *   BENCH_VERK_NODE_FLAGS="--flag ..."    adds V8/Node flags to Verk's worker processes (after NodeFlags)
 *   BENCH_ONLY=matrix,drain               runs only these phases (comma-separated) and prints their
 *                                         sections: drain (1), latency (2–4), idle-load (5),
 *                                         memory (6's long-running process), scale-out (7),
 *                                         cluster (8), startup (9), matrix (the workload matrix),
 *                                         unique (10: a unique enqueue against a plain one),
 *                                         threads (11: a no-op job in a worker thread against one
 *                                         in the event loop),
 *                                         flow (12: a rate-limited and a concurrency-limited worker)
 *   BENCH_ROWS="no-op 20 KB c=200,..."    runs only these rows of the workload matrix (by label)
 */
import { readFileSync, writeFileSync } from "node:fs"
import os from "node:os"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { parseArgs } from "node:util"
import type { Redis } from "ioredis"
import { startRedisServer } from "../test/support/redisServer.ts"
import { buildWorkers } from "./build.ts"
import * as Peer from "./bullmq.ts"
import * as ClusterScaleOut from "./clusterScaleOut.ts"
import * as FlowControl from "./flowControl.ts"
import { killAll } from "./processes.ts"
import { type Row, renderTable, type Section, type System, type SystemId, toJson } from "./report.ts"
import * as Sidekiq from "./sidekiq.ts"
import * as Startup from "./startup.ts"
import { awaitConnectionsClosed, connectAdmin, fmtInt, percentile } from "./support.ts"
import * as ThreadCost from "./threads.ts"
import * as UniqueEnqueue from "./uniqueEnqueue.ts"
import * as Verk from "./verk.ts"
import * as WorkloadMatrix from "./workloadMatrix.ts"

const { values: flags } = parseArgs({
  options: { quick: { type: "boolean", default: false }, json: { type: "string" } },
  strict: true,
})
const quick = flags.quick === true

const Phases = [
  "drain",
  "latency",
  "idle-load",
  "memory",
  "scale-out",
  "cluster",
  "startup",
  "matrix",
  "unique",
  "threads",
  "flow",
] as const
type Phase = (typeof Phases)[number]
/** BENCH_ONLY's phases; every phase when it is unset or empty. */
const only = (() => {
  const named = (process.env.BENCH_ONLY ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "")
  const unknown = named.filter((name) => !(Phases as ReadonlyArray<string>).includes(name))
  if (unknown.length > 0) {
    process.stderr.write(
      `bench: BENCH_ONLY: unknown phase(s) ${unknown.join(", ")}; the phases: ${Phases.join(", ")}\n`,
    )
    process.exit(2)
  }
  return named.length === 0 ? new Set<Phase>(Phases) : new Set(named as Array<Phase>)
})()
const runs = (phase: Phase) => only.has(phase)

/** The full run's counts, and `--quick`'s: every scenario, small enough to finish in well under a minute. */
const plan = quick
  ? {
      drainJobs: 2_000,
      idle: { pickupJobs: 20, foreignJobs: 2, scheduledJobs: 20, scheduleWindow: [200, 600] as const },
      idleQueueCounts: [1, 3],
      idleWindowMillis: 1_000,
      idleSettleMillis: 500,
      scaleOutJobs: 5_000,
      scaleOutProcesses: [1, 2],
      longDrainStages: [5_000, 20_000],
      longIdleMillis: 2_000,
      processSettleMillis: 300,
    }
  : {
      drainJobs: 50_000,
      idle: { pickupJobs: 200, foreignJobs: 20, scheduledJobs: 200, scheduleWindow: [500, 3_000] as const },
      idleQueueCounts: [1, 3, 10],
      idleWindowMillis: 5_000,
      idleSettleMillis: 1_500,
      scaleOutJobs: 200_000,
      scaleOutProcesses: [1, 2, 4],
      longDrainStages: [100_000, 1_000_000],
      // Past Verk's start-up release (StartupMemory.ts: after 5 s idle).
      longIdleMillis: 6_500,
      processSettleMillis: 1_000,
    }
const DrainConcurrency = 25
/** Verk's default `pollInterval` (Settings.ts): the bench runs with it. */
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
    unit: "ms",
    values: {
      verk: verk === undefined ? "n/a" : percentile(verk, p),
      bullmq: peer === undefined ? "n/a" : percentile(peer, p),
    },
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

const loadAverage = () => os.loadavg()[0]!

/** Microseconds per job of `seconds` spent on `jobs` jobs. */
const perJob = (seconds: number, jobs: number) => (seconds / jobs) * 1e6

type DrainFigures = Verk.DrainResult

/** The same figure for each system that has it. */
const each = (
  results: Partial<Record<SystemId, DrainFigures>>,
  pick: (result: DrainFigures, system: SystemId) => number | string,
): Partial<Record<SystemId, number | string>> =>
  Object.fromEntries(
    Object.entries(results).map(([system, result]) => [system, pick(result as DrainFigures, system as SystemId)]),
  ) as Partial<Record<SystemId, number | string>>

const main = async () => {
  const began = performance.now()
  const loadAtStart = loadAverage()
  const bundles = await buildWorkers()
  const server = await startRedisServer().catch((error: unknown) => {
    bundles.remove()
    throw error
  })
  const admin = await connectAdmin(server.url)
  try {
    const sidekiqFound = Sidekiq.detect()
    const systems: ReadonlyArray<System> = [
      { id: "verk", name: "Verk", version: packageVersion("@verk/core") },
      { id: "bullmq", name: "BullMQ", version: packageVersion("bullmq") },
      "version" in sidekiqFound
        ? { id: "sidekiq", name: "Sidekiq", version: sidekiqFound.version }
        : { id: "sidekiq", name: "Sidekiq", version: "", skipped: `Ruby Sidekiq not found (${sidekiqFound.missing})` },
    ]
    const sidekiqRuns = "version" in sidekiqFound
    const cpus = os.cpus()
    const redis = await redisVersion(admin)
    const header = [
      quick ? "Verk bench (--quick: small counts, to prove the bench runs; the figures mean little)" : "Verk bench",
      `machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.platform()} ${os.release()}`,
      `load average (1 min) at start: ${loadAtStart.toFixed(2)} — other processes on the host add noise to every figure`,
      `node ${process.version}, redis-server ${redis} (private, 127.0.0.1:${server.port}, no persistence; flushed between phases)`,
      `effect ${packageVersion("effect")}, ioredis ${packageVersion("ioredis")}, peer bullmq ${packageVersion("bullmq")}`,
      `Verk settings: defaults (pollInterval ${PollIntervalMillis} ms); no per-job log lines (start/done at None in worker processes, minimum level Warn in-process)`,
      "BullMQ settings: defaults; jobs added with removeOnComplete/removeOnFail (Verk keeps no finished job either)",
      sidekiqRuns
        ? `Sidekiq ${sidekiqFound.version} (Ruby ${sidekiqFound.ruby}): sidekiq -c ${DrainConcurrency}, logger at WARN (no per-job lines), jobs pushed by Sidekiq::Client.push_bulk, 1,000 per call`
        : `Sidekiq column skipped: Ruby Sidekiq not found (${sidekiqFound.missing})`,
      "Drains (sections 1, 6, 7, the workload matrix) run worker processes (Node: JavaScript bundled by esbuild, packages from node_modules; Ruby for Sidekiq),",
      "started with the jobs held back (Verk, BullMQ: queue paused; Sidekiq: list renamed away) and released once all are ready.",
      "Worker CPU: /proc/<pid>/stat utime+stime; redis-server CPU: INFO cpu; both from the release to the last perform.",
      ...(only.size === Phases.length ? [] : [`BENCH_ONLY: only the phase(s) ${[...only].join(", ")}`]),
    ]

    const drainOptions = (processes: number, jobs: number): Verk.DrainOptions => ({
      url: server.url,
      admin,
      jobs,
      concurrency: DrainConcurrency,
      processes,
      settleMillis: plan.processSettleMillis,
      bundles,
    })
    const drains: Partial<Record<SystemId, DrainFigures>> = {}
    if (runs("drain")) {
      await fresh(
        admin,
        `Verk: enqueue ${plan.drainJobs} jobs, then drain in a worker process at c=${DrainConcurrency}`,
      )
      drains.verk = await Verk.enqueueAndDrain(drainOptions(1, plan.drainJobs))
      await fresh(
        admin,
        `BullMQ: addBulk ${plan.drainJobs} jobs, then drain in a worker process at c=${DrainConcurrency}`,
      )
      drains.bullmq = await Peer.enqueueAndDrain(server.port, drainOptions(1, plan.drainJobs))
      if (sidekiqRuns) {
        await fresh(
          admin,
          `Sidekiq: push_bulk ${plan.drainJobs} jobs, then drain in a sidekiq process at c=${DrainConcurrency}`,
        )
        const enqueueSeconds = await Sidekiq.enqueue(server.url, plan.drainJobs)
        const drained = await Sidekiq.drain({ ...drainOptions(1, plan.drainJobs) })
        const processed = await admin.get("stat:processed")
        drains.sidekiq = {
          ...drained,
          enqueuePerSecond: plan.drainJobs / enqueueSeconds,
          processedStat: processed === null ? undefined : Number(processed),
        }
      } else {
        progress(`Sidekiq: skipped (${sidekiqFound.missing})`)
      }
    }

    const latencies = runs("latency")
      ? await (async () => {
          await fresh(admin, "Verk: idle pickup, foreign LPUSH pickup, scheduled lateness")
          const [verkIdle, verkStall] = await withStallMonitor(() => Verk.idleLatencies(server.url, admin, plan.idle))
          await fresh(admin, "BullMQ: idle pickup, scheduled lateness")
          const [peerIdle, peerStall] = await withStallMonitor(() => Peer.idleLatencies(server.port, plan.idle))
          return { verkIdle, verkStall, peerIdle, peerStall }
        })()
      : undefined

    const verkLoad: Array<Verk.IdleLoad> = []
    const peerLoad: Array<Verk.IdleLoad> = []
    const idleQueueCounts = runs("idle-load") ? plan.idleQueueCounts : []
    for (const queues of idleQueueCounts) {
      await fresh(admin, `Verk: idle node on ${queues} queue(s)`)
      verkLoad.push(await Verk.idleLoad(server.url, admin, queues, plan.idleWindowMillis, plan.idleSettleMillis))
    }
    for (const queues of idleQueueCounts) {
      await fresh(admin, `BullMQ: idle workers on ${queues} queue(s)`)
      peerLoad.push(await Peer.idleLoad(server.port, admin, queues, plan.idleWindowMillis, plan.idleSettleMillis))
    }

    const scaleOut: Array<{ readonly processes: number; readonly verk: DrainFigures; readonly bullmq: DrainFigures }> =
      []
    for (const processes of runs("scale-out") ? plan.scaleOutProcesses : []) {
      await fresh(admin, `Verk: ${plan.scaleOutJobs} jobs drained by ${processes} worker process(es)`)
      const verk = await Verk.enqueueAndDrain(drainOptions(processes, plan.scaleOutJobs))
      await fresh(admin, `BullMQ: ${plan.scaleOutJobs} jobs drained by ${processes} worker process(es)`)
      const bullmq = await Peer.enqueueAndDrain(server.port, drainOptions(processes, plan.scaleOutJobs))
      scaleOut.push({ processes, verk, bullmq })
    }
    // Section 6's long drain: one Verk worker process, its RSS after each stage.
    const [firstStage, lastStage] = [plan.longDrainStages[0]!, plan.longDrainStages.at(-1)!]
    const long = runs("memory")
      ? await (async () => {
          await fresh(admin, `Verk: one worker process drains ${firstStage}, then up to ${lastStage} jobs`)
          const longDrain = await Verk.drainInStages({ ...drainOptions(1, 0), stages: plan.longDrainStages })
          await fresh(admin, `Verk, BullMQ: a worker process idle ${plan.longIdleMillis} ms after it is ready`)
          const longIdle = {
            verk: await Verk.idleRss(drainOptions(1, 0), plan.longIdleMillis),
            bullmq: await Peer.idleRss(server.port, drainOptions(1, 0), plan.longIdleMillis),
          }
          return { longDrain, longIdle }
        })()
      : undefined
    // Section 9: a unique enqueue against a plain one (uniqueEnqueue.ts).
    const uniqueEnqueue = runs("unique")
      ? await (async () => {
          await fresh(admin, "Verk: enqueue against enqueueUnique, one call at a time")
          return UniqueEnqueue.runUniqueEnqueue({ url: server.url, admin, calls: quick ? 1_000 : 10_000 })
        })()
      : undefined

    // Section 11: a no-op job in a worker thread against one in the event loop (threads.ts).
    const threadCost = runs("threads")
      ? await (async () => {
          const { jobs, threads } = ThreadCost.plan(quick)
          await fresh(admin, `Verk: ${jobs} no-op jobs in the event loop, then in ${threads} worker threads`)
          return ThreadCost.run({ url: server.url, admin, jobs, threads })
        })()
      : undefined

    // Section 8: the same drain on a private 3-shard Redis Cluster (clusterScaleOut.ts).
    const clusterScaleOut = runs("cluster")
      ? await ClusterScaleOut.runClusterScaleOut({ ...ClusterScaleOut.plan(quick), progress })
      : undefined
    // Section 9: `verk run` and a BullMQ worker from spawn to ready, `verk --help` to its exit (startup.ts).
    const startup = runs("startup")
      ? await (async () => {
          await fresh(admin, "Verk, BullMQ: start-up of a worker process, verk --help")
          return await Startup.run({ url: server.url, port: server.port, bundles, rounds: Startup.rounds(quick) })
        })()
      : undefined
    // Section 12: a rate-limited and a concurrency-limited worker beside BullMQ's (flowControl.ts).
    const flow = runs("flow")
      ? await FlowControl.run(FlowControl.plan(quick), {
          url: server.url,
          port: server.port,
          admin,
          settleMillis: plan.processSettleMillis,
          bundles,
          fresh: (label) => fresh(admin, label),
        })
      : undefined
    const matrixPlan = WorkloadMatrix.plan(quick, process.env.BENCH_ROWS)
    const matrix = runs("matrix")
      ? await WorkloadMatrix.run(matrixPlan, {
          url: server.url,
          port: server.port,
          admin,
          settleMillis: plan.processSettleMillis,
          bundles,
          fresh: (label) => fresh(admin, label),
        })
      : undefined
    const leftOpen = await awaitConnectionsClosed(admin)

    const drainSection: Section = {
      scenario: "drain",
      title: `1. Throughput: ${fmtInt(plan.drainJobs)} no-op jobs, one worker process at concurrency ${DrainConcurrency}`,
      systems: ["verk", "bullmq", "sidekiq"],
      rows: [
        {
          metric: "Enqueue throughput",
          scenario: "enqueue",
          unit: "jobs/s",
          values: each(drains, (result) => result.enqueuePerSecond),
          note: "enqueueMany / addBulk / push_bulk, 1,000 jobs per round trip",
        },
        {
          metric: "Drain throughput",
          unit: "jobs/s",
          values: each(drains, (result) => result.drainPerSecond),
          note: "release → last perform",
        },
        { metric: "Drain time", unit: "s", values: each(drains, (result) => result.drainSeconds) },
        {
          metric: "Jobs performed",
          unit: "jobs",
          values: each(drains, (result) => result.performed),
          note: "counted in perform, 300 ms after the last",
        },
        {
          metric: "stat:processed after shutdown",
          unit: "jobs",
          values: each(drains, (result, system) => result.processedStat ?? (system === "bullmq" ? "n/a" : "missing")),
          note: "Sidekiq's counter (Verk flushes it every second and on close)",
        },
        {
          metric: "Node/Ruby CPU per job (drain)",
          unit: "us/job",
          values: each(drains, (result) => perJob(result.workerCpuSeconds, result.jobs)),
          note: "worker process, /proc/<pid>/stat utime+stime, release → last perform",
        },
        {
          metric: "redis-server CPU per job (drain)",
          unit: "us/job",
          values: each(drains, (result) => perJob(result.redisCpuSeconds, result.jobs)),
          note: "INFO cpu used_cpu_user + used_cpu_sys",
        },
        {
          metric: "Worker process start-up",
          unit: "ms",
          values: each(drains, (result) => result.startupMillis),
          note: "spawn → ready (process boot, connect; Sidekiq: first heartbeat)",
        },
        {
          metric: "Shutdown after drain",
          unit: "ms",
          values: each(drains, (result) => result.shutdownMillis),
          note: "SIGTERM → exit (Sidekiq's fetchers block in BRPOP for up to 2 s)",
        },
      ],
    }
    const latencySections = ({ verkIdle, verkStall, peerIdle, peerStall }: NonNullable<typeof latencies>) => {
      const pickupSection: Section = {
        scenario: "pickup",
        title: `2. Idle pickup latency: ${plan.idle.pickupJobs} jobs, one at a time (enqueue start → perform start)`,
        systems: ["verk", "bullmq"],
        rows: [
          ...latencyRows("Enqueue call", verkIdle.enqueueCall, peerIdle.enqueueCall, "Client.enqueue / queue.add"),
          ...latencyRows("Pickup", verkIdle.pickup, peerIdle.pickup, "pub/sub wake-up / blocking pop"),
        ],
      }
      const foreignSection: Section = {
        scenario: "foreign-pickup",
        title: `3. Foreign push pickup: ${plan.idle.foreignJobs} raw LPUSHes of Sidekiq JSON (pollInterval ${PollIntervalMillis} ms)`,
        systems: ["verk"],
        rows: latencyRows("Pickup", verkIdle.foreign, undefined, "bounded by pollInterval; BullMQ has no such path"),
      }
      const scheduledSection: Section = {
        scenario: "scheduled",
        title: `4. Scheduled lateness: ${plan.idle.scheduledJobs} jobs due ${plan.idle.scheduleWindow[0] / 1000}–${plan.idle.scheduleWindow[1] / 1000} s ahead (perform start − due time)`,
        systems: ["verk", "bullmq"],
        rows: [
          ...latencyRows(
            "Lateness",
            verkIdle.lateness,
            peerIdle.lateness,
            "Client.schedule(DateTime) / add({ delay })",
          ),
          {
            metric: "Event-loop delay max, phases 2–4",
            unit: "ms",
            values: { verk: verkStall, bullmq: peerStall },
            note: "a whole-process stall (GC, CPU taken by others) shows in every tail",
          },
          {
            metric: "Shutdown when idle",
            unit: "ms",
            values: { verk: verkIdle.shutdownMillis, bullmq: peerIdle.shutdownMillis },
          },
        ],
      }
      return [pickupSection, foreignSection, scheduledSection]
    }
    const loadSection: Section = {
      scenario: "idle-load",
      title: `5. Idle node Redis load (${plan.idleWindowMillis / 1000} s window, INFO commandstats incl. commands inside Lua)`,
      systems: ["verk", "bullmq"],
      rows: idleQueueCounts.flatMap(
        (queues, i): Array<Row> => [
          {
            metric: `${queues} queue(s): commands/s`,
            unit: "commands/s",
            values: { verk: verkLoad[i]!.commandsPerSecond, bullmq: peerLoad[i]!.commandsPerSecond },
          },
          {
            metric: `${queues} queue(s): connections`,
            unit: "connections",
            values: { verk: verkLoad[i]!.connections, bullmq: peerLoad[i]!.connections },
            note: i === 0 ? "CLIENT LIST minus the bench's admin connection" : "",
          },
        ],
      ),
    }
    const memorySection: Section = {
      scenario: "memory",
      title: `6. Worker process memory at concurrency ${DrainConcurrency}: the processes of section 1, one long-running Verk process, section 7's`,
      systems: ["verk", "bullmq", "sidekiq"],
      rows: [
        ...(runs("drain")
          ? [
              {
                metric: "Idle worker RSS",
                unit: "MiB",
                values: each(drains, (result) => result.idleRssMiB),
                note: `VmRSS, ready and idle for ${plan.processSettleMillis} ms`,
              } satisfies Row,
            ]
          : []),
        ...(long === undefined
          ? []
          : [
              {
                metric: `Idle worker RSS, ${(plan.longIdleMillis / 1000).toFixed(1)} s after ready`,
                unit: "MiB",
                values: long.longIdle,
                note: "a worker left idle; Verk gives back its start-up memory after 5 s idle",
              } satisfies Row,
            ]),
        ...(runs("drain")
          ? [
              {
                metric: `RSS after draining ${fmtInt(plan.drainJobs)}`,
                unit: "MiB",
                values: each(drains, (result) => result.drainedRssMiB),
                note: "VmRSS right after the last perform",
              } satisfies Row,
            ]
          : []),
        ...(long?.longDrain.stages ?? []).map(
          (stage, i): Row => ({
            metric: `RSS after draining ${fmtInt(stage.jobs)}${i === 0 ? "" : " (same process)"}`,
            unit: "MiB",
            values: { verk: stage.rssMiB, bullmq: "not run" },
            note:
              i === 0
                ? "one long-running Verk process, batches added while it idles (queue paused); BullMQ would take minutes"
                : "",
          }),
        ),
        ...(long === undefined
          ? []
          : [
              {
                metric: `Node CPU per job, jobs ${fmtInt(firstStage + 1)}–${fmtInt(lastStage)}`,
                unit: "us/job",
                values: {
                  verk: perJob(long.longDrain.stages.at(-1)!.workerCpuSeconds, long.longDrain.stages.at(-1)!.stageJobs),
                },
                note: "the same process, its last batch",
              } satisfies Row,
            ]),
        ...scaleOut
          .filter((run) => run.processes === 1)
          .map(
            (run): Row => ({
              metric: `RSS after draining ${fmtInt(plan.scaleOutJobs)}`,
              unit: "MiB",
              values: { verk: run.verk.drainedRssMiB, bullmq: run.bullmq.drainedRssMiB },
              note: "the one-process run of section 7",
            }),
          ),
      ],
    }
    const scaleOutSection: Section = {
      scenario: "scale-out",
      title: `7. Scale-out on one Redis: ${fmtInt(plan.scaleOutJobs)} no-op jobs, N worker processes at concurrency ${DrainConcurrency} each (${cpus.length} cores shared with redis-server)`,
      systems: ["verk", "bullmq"],
      rows: scaleOut.flatMap(({ processes, verk, bullmq }, i): Array<Row> => {
        const both = (pick: (result: DrainFigures) => number) => ({ verk: pick(verk), bullmq: pick(bullmq) })
        const label = `${processes} process${processes === 1 ? "" : "es"}`
        return [
          {
            metric: `${label}: drain throughput`,
            unit: "jobs/s",
            values: both((result) => result.drainPerSecond),
            note: i === 0 ? "release → last perform, all processes" : "",
          },
          {
            metric: `${label}: Node CPU per job`,
            unit: "us/job",
            values: both((result) => perJob(result.workerCpuSeconds, result.jobs)),
            note: i === 0 ? "all worker processes together" : "",
          },
          {
            metric: `${label}: redis-server CPU per job`,
            unit: "us/job",
            values: both((result) => perJob(result.redisCpuSeconds, result.jobs)),
          },
          {
            metric: `${label}: one Redis core's worth`,
            unit: "jobs/s",
            values: both((result) => result.jobs / result.redisCpuSeconds),
            note: i === 0 ? "1 s / redis-server CPU per job: the ceiling one Redis core sets at that cost" : "",
          },
        ]
      }),
    }
    // The sections of the phases that ran (BENCH_ONLY), in the table; the workload matrix in one of its own.
    const sections = [
      ...(runs("drain") ? [drainSection] : []),
      ...(latencies === undefined ? [] : latencySections(latencies)),
      ...(runs("idle-load") ? [loadSection] : []),
      ...(memorySection.rows.length > 0 ? [memorySection] : []),
      ...(runs("scale-out") ? [scaleOutSection] : []),
      ...(clusterScaleOut === undefined ? [] : [ClusterScaleOut.section(clusterScaleOut, cpus.length)]),
      ...(startup === undefined ? [] : [Startup.section(startup)]),
      ...(uniqueEnqueue === undefined ? [] : [UniqueEnqueue.section(uniqueEnqueue)]),
      ...(threadCost === undefined ? [] : [ThreadCost.section(threadCost)]),
      ...(flow === undefined ? [] : [FlowControl.section(flow)]),
    ]
    const matrixSection = matrix === undefined ? undefined : WorkloadMatrix.section(matrix)

    const breakdown = runs("idle-load")
      ? [
          "Idle commands per second, by command:",
          ...idleQueueCounts.flatMap((queues, i) => [
            `  Verk,   ${String(queues).padStart(2)} queue(s): ${verkLoad[i]!.breakdown}`,
            `  BullMQ, ${String(queues).padStart(2)} queue(s): ${peerLoad[i]!.breakdown}`,
          ]),
          "",
        ]
      : []
    const duplicates = [
      ...Object.values(drains),
      ...scaleOut.flatMap((run) => [run.verk, run.bullmq]),
      ...(matrix === undefined ? [] : WorkloadMatrix.drains(matrix)),
      ...(flow === undefined ? [] : FlowControl.drains(flow)),
    ].filter((result) => result.performed !== result.jobs)
    const benchSeconds = (performance.now() - began) / 1000
    const loadAtEnd = loadAverage()

    process.stdout.write(
      [
        "",
        ...header,
        "",
        ...(sections.length === 0 ? [] : [renderTable(systems, sections), ""]),
        ...(matrix === undefined ? [] : [WorkloadMatrix.render(matrix), ""]),
        ...breakdown,
        ...(duplicates.length === 0
          ? []
          : [`WARNING: ${duplicates.length} drain(s) performed a number of jobs other than the number enqueued`, ""]),
        `Connections left open at the end: ${leftOpen}. Load average at the end: ${loadAtEnd.toFixed(2)}. Total bench time: ${benchSeconds.toFixed(1)} s`,
        "",
      ].join("\n"),
    )

    if (flags.json !== undefined) {
      const report = toJson(
        {
          date: new Date().toISOString(),
          quick,
          node: process.version,
          redis,
          cpus: cpus.length,
          cpuModel: cpus[0]?.model.trim() ?? "unknown",
          memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
          platform: `${os.platform()} ${os.release()}`,
          loadAverage: { start: loadAtStart, end: loadAtEnd },
          versions: {
            verk: packageVersion("@verk/core"),
            effect: packageVersion("effect"),
            ioredis: packageVersion("ioredis"),
            bullmq: packageVersion("bullmq"),
            ...(sidekiqRuns ? { sidekiq: sidekiqFound.version, ruby: sidekiqFound.ruby } : {}),
          },
          counts: {
            drainJobs: plan.drainJobs,
            concurrency: DrainConcurrency,
            pickupJobs: plan.idle.pickupJobs,
            foreignJobs: plan.idle.foreignJobs,
            scheduledJobs: plan.idle.scheduledJobs,
            scheduleWindowMillis: plan.idle.scheduleWindow,
            idleQueueCounts: plan.idleQueueCounts,
            idleWindowMillis: plan.idleWindowMillis,
            scaleOutJobs: plan.scaleOutJobs,
            scaleOutProcesses: plan.scaleOutProcesses,
            longDrainStages: plan.longDrainStages,
            longIdleMillis: plan.longIdleMillis,
            matrixArgBytes: WorkloadMatrix.ArgSizes,
            matrixConcurrencies: WorkloadMatrix.Concurrencies,
            matrixNoOpJobs: matrixPlan.embedded.jobs,
            matrixAsyncJobs: matrixPlan.rows.find((row) => row.kind === "async")?.jobs ?? 0,
            matrixRows: matrixPlan.rows.length,
            startupRounds: Startup.rounds(quick),
          },
          benchSeconds,
        },
        systems,
        matrixSection === undefined ? sections : [...sections, matrixSection],
      )
      writeFileSync(flags.json, `${JSON.stringify(report, null, 2)}\n`)
      progress(`figures written to ${flags.json}`)
    }
  } finally {
    killAll()
    await admin.quit().catch(() => admin.disconnect())
    await server.stop()
    bundles.remove()
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
