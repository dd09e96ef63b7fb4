/**
 * Scale-out on a Redis Cluster: the scale-out phase of run.ts (N Verk worker processes draining
 * no-op jobs) on a private 3-shard cluster (3 primaries, no replicas) with the queues spread over
 * the shards, reporting throughput and each shard's redis-server CPU per job.
 *
 * Run by run.ts after the scale-out on one Redis, or alone:
 *   node --conditions=@verk/source bench/clusterScaleOut.ts [--quick] [--jobs N]
 *
 * Each run: flush every primary, enqueue the jobs (evenly over the queues) from the bench process,
 * pause every queue, start the worker processes, and resume the queues once all are ready; the
 * drain runs from the resume to the last perform. A shard's drain ends when its queues are empty
 * (polled with LLEN); its CPU is INFO cpu on its primary, release → last perform.
 */
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { Client, Store } from "@verk/core"
import { RedisStore } from "@verk/redis"
import { Effect, Layer, ManagedRuntime, References } from "effect"
import type { Redis } from "ioredis"
import * as Slots from "../packages/redis/src/Slots.ts"
import { type ClusterPrimary, startCluster } from "../test/support/redisCluster.ts"
import { bundleEntries } from "./build.ts"
import { baseEnv, epochMillis, processCpuSeconds, spawnWorker, type WorkerChild } from "./processes.ts"
import type { Row, Section } from "./report.ts"
import { awaitConnectionsClosed, connectAdmin, fmtInt, redisCpuSeconds, sleep } from "./support.ts"
import { NoOp } from "./verkWorkers.ts"

const root = fileURLToPath(new URL("..", import.meta.url))

export interface ClusterPlan {
  readonly jobs: number
  readonly processes: ReadonlyArray<number>
  readonly shards: number
  /** Queues per shard: every shard owns this many of the queues (chosen by their hash slot). */
  readonly queuesPerShard: number
  /** Each worker process works every queue at this concurrency. */
  readonly concurrency: number
  readonly settleMillis: number
}

/** The full run's counts, and `--quick`'s (proves the phase works in a few seconds). */
export const plan = (quick: boolean): ClusterPlan =>
  quick
    ? { jobs: 2_000, processes: [1, 2], shards: 3, queuesPerShard: 2, concurrency: 25, settleMillis: 200 }
    : { jobs: 200_000, processes: [1, 2, 4], shards: 3, queuesPerShard: 2, concurrency: 25, settleMillis: 1_000 }

export interface ShardFigures {
  /** 1-based, in slot order. */
  readonly shard: number
  readonly queues: ReadonlyArray<string>
  /** Whether the shared registries (`{verk}`: nodes, queues, stats, pauses) live on this shard. */
  readonly registries: boolean
  readonly jobs: number
  /** Release → the shard's queues empty. */
  readonly drainSeconds: number
  readonly drainPerSecond: number
  /** Its primary's redis-server CPU, release → last perform. */
  readonly redisCpuSeconds: number
}

export interface ClusterRun {
  readonly processes: number
  readonly jobs: number
  readonly enqueuePerSecond: number
  readonly drainSeconds: number
  readonly drainPerSecond: number
  readonly performed: number
  readonly workerCpuSeconds: number
  readonly redisCpuSeconds: number
  readonly shards: ReadonlyArray<ShardFigures>
}

export interface ClusterResult {
  readonly plan: ClusterPlan
  readonly runs: ReadonlyArray<ClusterRun>
}

/** The cluster worker, bundled as build.ts bundles the other workers (JavaScript, packages from node_modules). */
const buildWorker = async (): Promise<{ readonly path: string; readonly remove: () => void }> => {
  const { paths, remove } = await bundleEntries("bench-cluster-worker-", {
    verkClusterWorker: new URL("./verkClusterWorkerMain.ts", import.meta.url),
  })
  return { path: paths.verkClusterWorker, remove }
}

// --------------------------------------------------------------------------------------------
// Queues spread over the shards
// --------------------------------------------------------------------------------------------

const owns = (primary: ClusterPrimary, slot: number) => primary.slots.some(([from, to]) => slot >= from && slot <= to)

/**
 * `perShard` queue names for each primary: a queue's keys carry its name as their hash tag
 * (`queue:{name}`), so its slot is the slot of its name.
 */
const spreadQueues = (primaries: ReadonlyArray<ClusterPrimary>, perShard: number): Array<Array<string>> => {
  const byShard = primaries.map((): Array<string> => [])
  for (let i = 0; byShard.some((queues) => queues.length < perShard); i++) {
    if (i > 10_000) throw new Error("could not find queue names for every shard")
    const name = `cq${i}`
    const shard = primaries.findIndex((primary) => owns(primary, Slots.of(name)))
    if (shard >= 0 && byShard[shard]!.length < perShard) byShard[shard]!.push(name)
  }
  return byShard
}

// --------------------------------------------------------------------------------------------
// The phase
// --------------------------------------------------------------------------------------------

/** Jobs per `enqueueMany` call (sent 1,000 per round trip), as verk.ts does. */
const EnqueueChunk = 10_000
const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

const setPaused = (queues: ReadonlyArray<string>, paused: boolean) =>
  Effect.gen(function* () {
    const store = yield* Store.Store
    yield* Effect.forEach(queues, (queue) => store.setPaused(queue, paused), { concurrency: "unbounded" })
  })

const sum = (values: ReadonlyArray<number>) => values.reduce((total, value) => total + value, 0)

export const runClusterScaleOut = async (
  options: ClusterPlan & { readonly progress: (message: string) => void },
): Promise<ClusterResult> => {
  // A signal would end the process without its "exit" event, which the cluster harness kills its
  // redis-servers on: exit on it instead, so none is left behind.
  let removeWorker = () => {}
  const onSignal = () => {
    removeWorker()
    process.exit(130)
  }
  process.once("SIGTERM", onSignal)
  process.once("SIGINT", onSignal)
  const worker = await buildWorker()
  removeWorker = worker.remove
  const cluster = await startCluster({ primaries: options.shards, replicasPerPrimary: 0 }).catch((error: unknown) => {
    worker.remove()
    process.off("SIGTERM", onSignal)
    process.off("SIGINT", onSignal)
    throw error
  })
  const admins: Array<Redis> = []
  const children: Array<WorkerChild> = []
  try {
    const primaries = [...(await cluster.primaries())].sort((a, b) => (a.slots[0]?.[0] ?? 0) - (b.slots[0]?.[0] ?? 0))
    for (const primary of primaries) admins.push(await connectAdmin(`redis://127.0.0.1:${primary.port}`))
    const queuesByShard = spreadQueues(primaries, options.queuesPerShard)
    const queues = queuesByShard.flat()
    const registryShard = primaries.findIndex((primary) => owns(primary, Slots.of("{verk}")))
    const nodes = cluster.nodes
    const url = "redis://127.0.0.1" // only lends credentials with `cluster`: there are none
    options.progress(
      `Cluster: ${primaries.length} primaries (${primaries.map((p) => p.port).join(", ")}); queues by shard: ${queuesByShard.map((q) => q.join(",")).join(" | ")}; {verk} on shard ${registryShard + 1}`,
    )

    const runs: Array<ClusterRun> = []
    for (const processes of options.processes) {
      options.progress(`Verk on the cluster: ${options.jobs} jobs drained by ${processes} worker process(es)`)
      for (const admin of admins) {
        const left = await awaitConnectionsClosed(admin)
        if (left > 0) options.progress(`WARNING: ${left} connection(s) still open on a primary`)
        await admin.flushall()
      }
      const client = ManagedRuntime.make(
        Client.layer.pipe(Layer.provideMerge(RedisStore.layer({ url, cluster: { nodes } })), Layer.provide(quiet)),
      )
      try {
        await client.runPromise(Effect.void)
        // Evenly over the queues, in chunks (the first queues take the remainder).
        const perQueue = queues.map(
          (_, i) => Math.floor(options.jobs / queues.length) + (i < options.jobs % queues.length ? 1 : 0),
        )
        const enqueueBegan = performance.now()
        await Promise.all(
          queues.map(async (queue, i) => {
            for (let first = 0; first < perQueue[i]!; first += EnqueueChunk) {
              const size = Math.min(EnqueueChunk, perQueue[i]! - first)
              await client.runPromise(
                Client.enqueueMany(
                  NoOp,
                  Array.from({ length: size }, () => [] as const),
                  { queue },
                ),
              )
            }
          }),
        )
        const enqueueSeconds = (performance.now() - enqueueBegan) / 1000
        await client.runPromise(setPaused(queues, true))

        const spawned = Array.from({ length: processes }, (_, i) =>
          spawnWorker({
            label: `verk-cluster-worker-${i + 1}`,
            command: process.execPath,
            args: [worker.path],
            cwd: root,
            env: {
              ...baseEnv(),
              BENCH_CLUSTER_NODES: nodes.map(({ host, port }) => `${host}:${port}`).join(","),
              VERK_QUEUES: queues.map((queue) => `${queue}:${options.concurrency}`).join(","),
              VERK_START_JOB_LOG_LEVEL: "None",
              VERK_DONE_JOB_LOG_LEVEL: "None",
            },
            readyLine: /worker process ready: node /,
          }),
        )
        children.push(...spawned)
        await Promise.all(spawned.map((child) => child.ready(60_000)))
        await sleep(options.settleMillis)

        const total = () => sum(spawned.map((child) => child.performed()))
        const cpu0 = spawned.map((child) => processCpuSeconds(child.pid))
        const redis0 = await Promise.all(admins.map(redisCpuSeconds))
        const releasedAt = epochMillis()
        await client.runPromise(setPaused(queues, false))
        // A shard is drained once its queues are empty; polled, so a little late (≤ the poll).
        const emptiedAt: Array<number | undefined> = primaries.map(() => undefined)
        const deadline = Date.now() + Math.max(60_000, options.jobs * 2)
        let polled = 0
        while (total() < options.jobs) {
          for (const child of spawned) {
            if (!child.running())
              throw new Error(`${child.label} exited during the drain; ${child.output().slice(-4_000)}`)
          }
          if (Date.now() > deadline) throw new Error(`cluster drain: ${total()} of ${options.jobs} performed in time`)
          if (Date.now() - polled >= 20) {
            polled = Date.now()
            await Promise.all(
              admins.map(async (admin, shard) => {
                if (emptiedAt[shard] !== undefined) return
                const lengths = await Promise.all(queuesByShard[shard]!.map((queue) => admin.llen(`queue:{${queue}}`)))
                if (sum(lengths) === 0) emptiedAt[shard] = epochMillis()
              }),
            )
          }
          await sleep(5)
        }
        const cpu1 = spawned.map((child) => processCpuSeconds(child.pid))
        const redis1 = await Promise.all(admins.map(redisCpuSeconds))
        const finishedAt = Math.max(...spawned.map((child) => child.lastPerformAt()))
        await sleep(300) // a perform twice would be reported by now
        const performed = total()
        await Promise.all(spawned.map((child) => child.stop(30_000)))

        const drainSeconds = (finishedAt - releasedAt) / 1000
        const shards = primaries.map((_, shard): ShardFigures => {
          const jobs = sum(queuesByShard[shard]!.map((queue) => perQueue[queues.indexOf(queue)]!))
          const seconds = ((emptiedAt[shard] ?? finishedAt) - releasedAt) / 1000
          return {
            shard: shard + 1,
            queues: queuesByShard[shard]!,
            registries: shard === registryShard,
            jobs,
            drainSeconds: seconds,
            drainPerSecond: jobs / seconds,
            redisCpuSeconds: redis1[shard]! - redis0[shard]!,
          }
        })
        runs.push({
          processes,
          jobs: options.jobs,
          enqueuePerSecond: options.jobs / enqueueSeconds,
          drainSeconds,
          drainPerSecond: options.jobs / drainSeconds,
          performed,
          workerCpuSeconds: sum(cpu1.map((cpu, i) => cpu - cpu0[i]!)),
          redisCpuSeconds: sum(shards.map((shard) => shard.redisCpuSeconds)),
          shards,
        })
      } finally {
        for (const child of children.splice(0)) child.kill()
        await client.dispose()
      }
    }
    return { plan: options, runs }
  } finally {
    for (const child of children) child.kill()
    await Promise.all(admins.map((admin) => admin.quit().catch(() => admin.disconnect())))
    await cluster.stop()
    worker.remove()
    process.off("SIGTERM", onSignal)
    process.off("SIGINT", onSignal)
  }
}

// --------------------------------------------------------------------------------------------
// Reporting
// --------------------------------------------------------------------------------------------

const perJob = (seconds: number, jobs: number) => (seconds / jobs) * 1e6

const shardLabel = (shard: ShardFigures) =>
  `shard ${shard.shard} (${shard.queues.join(", ")}${shard.registries ? "; {verk} registries" : ""})`

/** The bench's table section (scenario `cluster-scale-out`, Verk only). */
export const section = (result: ClusterResult, cores: number): Section => ({
  scenario: "cluster-scale-out",
  title: `8. Scale-out on a Redis Cluster: ${fmtInt(result.plan.jobs)} no-op jobs over ${result.plan.shards * result.plan.queuesPerShard} queues on ${result.plan.shards} shards (no replicas), N worker processes working every queue at concurrency ${result.plan.concurrency} (${cores} cores shared with the redis-servers)`,
  systems: ["verk"],
  rows: result.runs.flatMap(({ processes, ...run }, i): Array<Row> => {
    const label = `${processes} process${processes === 1 ? "" : "es"}`
    return [
      {
        metric: `${label}: drain throughput`,
        unit: "jobs/s",
        values: { verk: run.drainPerSecond },
        note: i === 0 ? "release → last perform, all processes" : "",
      },
      {
        metric: `${label}: jobs performed`,
        unit: "jobs",
        values: { verk: run.performed },
        note: i === 0 ? `of ${fmtInt(run.jobs)}, counted in perform 300 ms after the last (more: duplicates)` : "",
      },
      {
        metric: `${label}: Node CPU per job`,
        unit: "us/job",
        values: { verk: perJob(run.workerCpuSeconds, run.jobs) },
        note: i === 0 ? "all worker processes together" : "",
      },
      {
        metric: `${label}: redis-server CPU per job, all shards`,
        unit: "us/job",
        values: { verk: perJob(run.redisCpuSeconds, run.jobs) },
        note: i === 0 ? "INFO cpu on every primary, summed, over all jobs" : "",
      },
      ...run.shards.flatMap(
        (shard, j): Array<Row> => [
          {
            metric: `${label}: ${shardLabel(shard)} drain throughput`,
            unit: "jobs/s",
            values: { verk: shard.drainPerSecond },
            note: i === 0 && j === 0 ? "the shard's jobs / release → its queues empty" : "",
          },
          {
            metric: `${label}: ${shardLabel(shard)} redis-server CPU per job`,
            unit: "us/job",
            values: { verk: perJob(shard.redisCpuSeconds, shard.jobs) },
            note: i === 0 && j === 0 ? "its primary's CPU / the jobs on its queues" : "",
          },
        ],
      ),
    ]
  }),
})

/** A compact markdown table: one line per process count. */
export const markdown = (result: ClusterResult): string => {
  const shards = result.runs[0]?.shards ?? []
  const header = [
    "processes",
    "jobs/s",
    "redis µs/job (all)",
    ...shards.map((shard) => `${shardLabel(shard)}: jobs/s, redis µs/job`),
  ]
  const lines = result.runs.map((run) =>
    [
      String(run.processes),
      fmtInt(run.drainPerSecond),
      perJob(run.redisCpuSeconds, run.jobs).toFixed(1),
      ...run.shards.map(
        (shard) => `${fmtInt(shard.drainPerSecond)}, ${perJob(shard.redisCpuSeconds, shard.jobs).toFixed(1)}`,
      ),
    ].join(" | "),
  )
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...lines.map((line) => `| ${line} |`),
  ].join("\n")
}

// Run alone: `node --conditions=@verk/source bench/clusterScaleOut.ts [--quick] [--jobs N]`.
if (import.meta.main) {
  const { values } = parseArgs({
    options: { quick: { type: "boolean", default: false }, jobs: { type: "string" } },
    strict: true,
  })
  const chosen = plan(values.quick === true)
  const progress = (message: string) =>
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`)
  runClusterScaleOut({ ...chosen, ...(values.jobs === undefined ? {} : { jobs: Number(values.jobs) }), progress }).then(
    (result) => {
      process.stdout.write(`${markdown(result)}\n`)
      const wrong = result.runs.filter((run) => run.performed !== run.jobs)
      if (wrong.length > 0)
        process.stdout.write(`WARNING: ${wrong.length} run(s) performed other than ${chosen.jobs}\n`)
    },
    (error: unknown) => {
      process.stderr.write(
        `cluster bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      )
      process.exit(1)
    },
  )
}
