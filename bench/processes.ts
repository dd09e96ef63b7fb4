/**
 * Worker processes for the drain phases: each system's worker runs in a process of its own (Verk's
 * and BullMQ's under Node, Sidekiq's under Ruby), so that each is measured the same way: its CPU
 * time (utime + stime from /proc/<pid>/stat) and its resident memory (VmRSS from /proc/<pid>/status).
 *
 * A worker process speaks a line protocol on stdout, among its own log lines:
 *   BENCH ready pid=<pid>                     (Sidekiq and BullMQ; Verk's own "worker process ready" line)
 *   BENCH performed=<n> last=<epoch ms>       (at most every 25 ms, when n changed; Node's workers add
 *     first=<epoch ms> cpuFirst=<µs> cpu=<µs>  the first perform and their own CPU time at it and now)
 * The jobs are enqueued and held back (paused or parked) before the processes start, and released
 * once all of them are ready and idle, so start-up is not part of the drain, and with several
 * processes none gets a head start.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import type { Redis } from "ioredis"
import { redisCpuSeconds, sleep } from "./support.ts"

const clockTicks = (() => {
  const result = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" })
  const ticks = Number(result.stdout?.trim())
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100
})()

/** CPU seconds a process has used so far (user + system, all its threads). */
export const processCpuSeconds = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks
}

const statusMiB = (pid: number, field: "VmRSS" | "VmHWM"): number => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const kib = Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status)?.[1] ?? Number.NaN)
  return kib / 1024
}

/** Resident set size of a process, in MiB. */
export const processRssMiB = (pid: number): number => statusMiB(pid, "VmRSS")

/** The largest resident set size a process has had so far (VmHWM), in MiB. */
export const processPeakRssMiB = (pid: number): number => statusMiB(pid, "VmHWM")

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export const epochMillis = () => performance.timeOrigin + performance.now()

export interface WorkerChild {
  readonly label: string
  readonly pid: number
  readonly spawnedAt: number
  readonly performed: () => number
  /** Epoch milliseconds of the last perform the process reported. */
  readonly lastPerformAt: () => number
  /** Epoch milliseconds of its first perform (NaN until reported, or from a process that does not say). */
  readonly firstPerformAt: () => number
  /** Its own CPU seconds from its first perform to its latest report (NaN where it does not say). */
  readonly drainCpuSeconds: () => number
  readonly output: () => string
  readonly running: () => boolean
  /** Resolves with the epoch milliseconds at which the process said it was ready. */
  readonly ready: (timeoutMillis: number) => Promise<number>
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMillis`); resolves with the time it took. */
  readonly stop: (graceMillis: number) => Promise<number>
  readonly kill: () => void
}

const OutputLimit = 200_000
const running = new Set<ChildProcess>()

/** Kills every worker process still running (the bench's own, started here). */
export const killAll = () => {
  for (const child of running) child.kill("SIGKILL")
}

export interface SpawnOptions {
  readonly label: string
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
  readonly cwd?: string
  /** A line of the process's output that says it is ready. */
  readonly readyLine: RegExp
}

/** The environment without the variables a worker reads for its settings (each gets its own). */
export const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("VERK_") && key !== "REDIS_URL") env[key] = value
  }
  return env
}

export const spawnWorker = (options: SpawnOptions): WorkerChild => {
  const spawnedAt = epochMillis()
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  })
  running.add(child)
  let output = ""
  let pending = ""
  let performed = 0
  let lastPerformAt = 0
  let firstPerformAt = Number.NaN
  let drainCpuSeconds = Number.NaN
  let readyAt: number | undefined
  const onLine = (line: string) => {
    const report = /^BENCH performed=(\d+) last=([\d.]+)(?: first=([\d.]+) cpuFirst=(\d+) cpu=(\d+))?/.exec(line)
    if (report !== null) {
      performed = Number(report[1])
      lastPerformAt = Number(report[2])
      if (report[3] !== undefined) {
        firstPerformAt = Number(report[3])
        drainCpuSeconds = (Number(report[5]) - Number(report[4])) / 1e6
      }
      return
    }
    if (readyAt === undefined && options.readyLine.test(line)) readyAt = epochMillis()
    output += `${line}\n`
    if (output.length > OutputLimit) output = output.slice(-OutputLimit)
  }
  child.stdout?.on("data", (chunk: Buffer) => {
    pending += chunk.toString()
    const lines = pending.split("\n")
    pending = lines.pop() ?? ""
    for (const line of lines) onLine(line)
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString()
    if (output.length > OutputLimit) output = output.slice(-OutputLimit)
  })
  let spawnError: Error | undefined
  child.once("error", (error) => (spawnError = error))
  const exited = new Promise<void>((resolve) => {
    child.once("close", () => {
      running.delete(child)
      resolve()
    })
  })
  const isRunning = () => child.exitCode === null && child.signalCode === null && spawnError === undefined
  const describe = () => `${options.label} (pid ${child.pid ?? "?"}) output:\n${output.slice(-4_000)}`

  return {
    label: options.label,
    pid: child.pid ?? -1,
    spawnedAt,
    performed: () => performed,
    lastPerformAt: () => lastPerformAt,
    firstPerformAt: () => firstPerformAt,
    drainCpuSeconds: () => drainCpuSeconds,
    output: () => output,
    running: isRunning,
    ready: async (timeoutMillis) => {
      const deadline = Date.now() + timeoutMillis
      while (readyAt === undefined) {
        if (spawnError !== undefined) throw new Error(`${options.label} could not start: ${spawnError.message}`)
        if (!isRunning()) throw new Error(`${options.label} exited before it was ready; ${describe()}`)
        if (Date.now() > deadline)
          throw new Error(`${options.label} not ready after ${timeoutMillis} ms; ${describe()}`)
        await sleep(10)
      }
      return readyAt
    },
    stop: async (graceMillis) => {
      const began = performance.now()
      if (isRunning()) {
        child.kill("SIGTERM")
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMillis)
        await exited
        clearTimeout(timer)
      } else {
        await exited
      }
      return performance.now() - began
    },
    kill: () => {
      if (isRunning()) child.kill("SIGKILL")
    },
  }
}

export interface ProcessDrainResult {
  readonly processes: number
  readonly jobs: number
  /** Release → the last perform any process reported. */
  readonly drainSeconds: number
  readonly drainPerSecond: number
  /** Performs the processes reported, summed, a moment after the last one (more than `jobs`: duplicates). */
  readonly performed: number
  /** CPU seconds of the worker processes (summed) and of redis-server, release → last perform. */
  readonly workerCpuSeconds: number
  readonly redisCpuSeconds: number
  /** Spawn → ready line, the slowest process. */
  readonly startupMillis: number
  /** Mean resident memory per process, idle (ready and settled, nothing released yet) and after the drain. */
  readonly idleRssMiB: number
  readonly drainedRssMiB: number
  /** SIGTERM → exit, the slowest process. */
  readonly shutdownMillis: number
  /**
   * The steady state: the first perform (of any process) → the last, and the processes' own CPU
   * over their first perform → last perform (summed; NaN for a process that does not report it).
   */
  readonly steadySeconds: number
  readonly steadyPerSecond: number
  readonly steadyCpuSeconds: number
  /** The largest peak resident memory (VmHWM) of the processes, read after the drain. */
  readonly peakRssMiB: number
}

export interface ProcessDrainPlan {
  readonly label: string
  readonly admin: Redis
  readonly jobs: number
  readonly processes: number
  readonly spawn: (index: number) => WorkerChild
  /** Makes the held-back jobs visible to the workers (resume a queue, rename a list back). */
  readonly release: () => Promise<void>
  /** How long the ready processes sit idle before the idle RSS is read and the jobs released. */
  readonly settleMillis: number
  readonly readyTimeoutMillis: number
  readonly shutdownGraceMillis: number
}

const mean = (values: ReadonlyArray<number>) => values.reduce((sum, value) => sum + value, 0) / values.length

/**
 * Starts the worker processes, waits until all are ready and idle, releases the jobs, and waits
 * until the processes together report `jobs` performs; then stops them with SIGTERM.
 */
export const drainWithProcesses = async (plan: ProcessDrainPlan): Promise<ProcessDrainResult> => {
  const children = Array.from({ length: plan.processes }, (_, i) => plan.spawn(i))
  try {
    const readyAt = await Promise.all(children.map((child) => child.ready(plan.readyTimeoutMillis)))
    const startupMillis = Math.max(...children.map((child, i) => readyAt[i]! - child.spawnedAt))
    await sleep(plan.settleMillis)
    const idleRssMiB = mean(children.map((child) => processRssMiB(child.pid)))

    const total = () => children.reduce((sum, child) => sum + child.performed(), 0)
    const cpu0 = children.map((child) => processCpuSeconds(child.pid))
    const redis0 = await redisCpuSeconds(plan.admin)
    const releasedAt = epochMillis()
    await plan.release()
    // Generous: a noisy machine may run a drain at a few hundred jobs a second.
    const timeoutMillis = Math.max(60_000, plan.jobs * 2)
    const deadline = Date.now() + timeoutMillis
    while (total() < plan.jobs) {
      for (const child of children) {
        if (!child.running()) throw new Error(`${child.label} exited during the drain; ${child.output().slice(-4_000)}`)
      }
      if (Date.now() > deadline) {
        throw new Error(`${plan.label}: ${total()} of ${plan.jobs} jobs performed after ${timeoutMillis} ms`)
      }
      await sleep(5)
    }
    const cpu1 = children.map((child) => processCpuSeconds(child.pid))
    const redis1 = await redisCpuSeconds(plan.admin)
    const finishedAt = Math.max(...children.map((child) => child.lastPerformAt()))
    const drainedRssMiB = mean(children.map((child) => processRssMiB(child.pid)))
    const peakRssMiB = Math.max(...children.map((child) => processPeakRssMiB(child.pid)))
    await sleep(300) // a perform twice would be reported by now (reports go out every 25 ms)
    const performed = total()
    const stopped = await Promise.all(children.map((child) => child.stop(plan.shutdownGraceMillis)))
    const drainSeconds = (finishedAt - releasedAt) / 1000
    const steadySeconds = (finishedAt - Math.min(...children.map((child) => child.firstPerformAt()))) / 1000
    return {
      processes: plan.processes,
      jobs: plan.jobs,
      drainSeconds,
      drainPerSecond: plan.jobs / drainSeconds,
      performed,
      workerCpuSeconds: cpu1.reduce((sum, cpu, i) => sum + cpu - cpu0[i]!, 0),
      redisCpuSeconds: redis1 - redis0,
      startupMillis,
      idleRssMiB,
      drainedRssMiB,
      shutdownMillis: Math.max(...stopped),
      steadySeconds,
      steadyPerSecond: plan.jobs / steadySeconds,
      steadyCpuSeconds: children.reduce((sum, child) => sum + child.drainCpuSeconds(), 0),
      peakRssMiB,
    }
  } finally {
    for (const child of children) child.kill()
  }
}

export interface StagedDrainPlan {
  readonly label: string
  readonly admin: Redis
  readonly spawn: () => WorkerChild
  /** Cumulative job counts: the process drains up to each in turn, held back while the next batch is added. */
  readonly stages: ReadonlyArray<number>
  /** Adds `jobs` more jobs, held back (the queue paused) until `release`. */
  readonly enqueue: (jobs: number) => Promise<void>
  readonly release: () => Promise<void>
  /** Holds back jobs added from now on (pauses the queue). */
  readonly hold: () => Promise<void>
  readonly settleMillis: number
  readonly readyTimeoutMillis: number
  readonly shutdownGraceMillis: number
}

export interface DrainStage {
  /** Jobs drained by the process so far. */
  readonly jobs: number
  /** Resident memory right after the stage's last perform. */
  readonly rssMiB: number
  /** CPU seconds of the worker process and jobs drained in this stage alone (release → last perform). */
  readonly stageJobs: number
  readonly workerCpuSeconds: number
}

export interface StagedDrainResult {
  readonly idleRssMiB: number
  readonly stages: ReadonlyArray<DrainStage>
}

/**
 * One worker process drains a growing number of jobs, stage by stage: the first batch is added
 * before it starts, each next one while it idles with the queue held back. After each stage its
 * resident memory is read, to see whether a long-running worker keeps growing.
 */
export const drainInStages = async (plan: StagedDrainPlan): Promise<StagedDrainResult> => {
  let added = 0
  const addUpTo = async (total: number) => {
    await plan.hold()
    await plan.enqueue(total - added)
    added = total
  }
  await addUpTo(plan.stages[0]!)
  const child = plan.spawn()
  try {
    await child.ready(plan.readyTimeoutMillis)
    await sleep(plan.settleMillis)
    const idleRssMiB = processRssMiB(child.pid)
    const stages: Array<DrainStage> = []
    for (const [i, total] of plan.stages.entries()) {
      if (i > 0) await addUpTo(total)
      const before = child.performed()
      const cpu0 = processCpuSeconds(child.pid)
      await plan.release()
      const deadline = Date.now() + Math.max(60_000, (total - before) * 2)
      while (child.performed() < total) {
        if (!child.running()) throw new Error(`${child.label} exited during the drain; ${child.output().slice(-4_000)}`)
        if (Date.now() > deadline) {
          throw new Error(`${plan.label}: ${child.performed()} of ${total} jobs performed by the deadline`)
        }
        await sleep(5)
      }
      const workerCpuSeconds = processCpuSeconds(child.pid) - cpu0
      stages.push({ jobs: total, rssMiB: processRssMiB(child.pid), stageJobs: total - before, workerCpuSeconds })
    }
    await child.stop(plan.shutdownGraceMillis)
    return { idleRssMiB, stages }
  } finally {
    child.kill()
  }
}

/**
 * The resident memory of a worker process left idle: started (nothing to do), read `idleMillis`
 * after it said it was ready, then stopped.
 */
export const idleRssAfter = async (
  spawn: () => WorkerChild,
  idleMillis: number,
  readyTimeoutMillis: number,
  shutdownGraceMillis: number,
): Promise<number> => {
  const child = spawn()
  try {
    await child.ready(readyTimeoutMillis)
    await sleep(idleMillis)
    const rss = processRssMiB(child.pid)
    await child.stop(shutdownGraceMillis)
    return rss
  } finally {
    child.kill()
  }
}
