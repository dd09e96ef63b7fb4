/**
 * Start-up (section 9, `BENCH_ONLY=startup`): how long `verk run <module>` takes from spawn to its
 * "worker process ready" line, beside a BullMQ worker process's spawn → ready (bullmqWorkerMain.ts:
 * its `Worker` connected, `waitUntilReady`), and how long `verk --help` takes to exit. Each figure
 * is the median of several starts, taken in rounds (one start of each kind per round, one process
 * at a time), so that a busy moment of a shared machine weighs on all of them alike.
 *
 * Verk runs as users run it: the packages compiled by tsc as `npm run build` compiles them, in the
 * node_modules of a scratch directory under .tmp/ (so the repository's own dist/ is neither needed
 * nor touched), with a worker module in JavaScript; and from the sources, as `npm run verk` runs
 * it (TypeScript through Node's type stripping). Node's compile cache, which the bin turns on (in
 * the OS's temporary directory), starts empty, in a temporary directory of each kind's own: the
 * first round's start is shown on its own row, and the medians are of the rounds after it
 * (BullMQ's too: its first start reads its files from disk).
 */
import { execFile, spawn } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { WorkerBundles } from "./build.ts"
import { spawnBullWorker } from "./bullmq.ts"
import { baseEnv, epochMillis, processCpuSeconds, spawnWorker, type WorkerChild } from "./processes.ts"
import type { Section } from "./report.ts"
import { percentile } from "./support.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const Packages = ["core", "redis", "node"] as const

/** The module `verk run` runs: one no-op worker, as the README writes one (Effect's modules by path). */
const WorkerModule = `// The start-up bench's worker module (bench/startup.ts).
import { Verk, Worker } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

export const NoOp = Worker.make({ name: "NoOp", args: Schema.Tuple([]), perform: () => Effect.void })

export default Verk.module({ workers: [NoOp] })
`

/** The rounds of a full run, and of `--quick`'s (which only proves the phase works). */
export const rounds = (quick: boolean): number => (quick ? 3 : 11)

/** The starts of each kind, in milliseconds, one per round. */
export interface StartupResult {
  readonly bullmq: ReadonlyArray<number>
  readonly run: ReadonlyArray<number>
  /** The CPU time the worker processes had used when they said they were ready (user + system). */
  readonly bullmqCpu: ReadonlyArray<number>
  readonly runCpu: ReadonlyArray<number>
  readonly runSource: ReadonlyArray<number>
  readonly help: ReadonlyArray<number>
  readonly helpSource: ReadonlyArray<number>
}

const tsc = (args: ReadonlyArray<string>) =>
  new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      [join(root, "node_modules/typescript/bin/tsc"), ...args],
      { cwd: root },
      (error, stdout) =>
        error === null ? resolve() : reject(new Error(`tsc ${args.join(" ")} failed: ${error.message}\n${stdout}`)),
    )
  })

/**
 * A scratch directory: `built/node_modules/@verk/*` (each package's package.json and its dist/, as
 * `npm run build` compiles it; type-checking is `npm run check`'s job) with `built/workers.mjs`,
 * and `source/workers.mjs`, whose `@verk/core` is the repository's (its sources, under the
 * `@verk/source` condition). Other packages resolve from the repository's node_modules.
 */
const install = async () => {
  mkdirSync(join(root, ".tmp"), { recursive: true })
  const dir = mkdtempSync(join(root, ".tmp", "bench-startup-"))
  try {
    await Promise.all(
      Packages.map((name) => {
        const target = join(dir, "built", "node_modules", "@verk", name)
        mkdirSync(target, { recursive: true })
        cpSync(join(root, "packages", name, "package.json"), join(target, "package.json"))
        return tsc(["-p", join("packages", name, "tsconfig.build.json"), "--outDir", join(target, "dist"), "--noCheck"])
      }),
    )
    for (const place of ["built", "source"]) {
      mkdirSync(join(dir, place), { recursive: true })
      writeFileSync(join(dir, place, "workers.mjs"), WorkerModule)
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Spawn → the ready line, and the CPU the process had used by then; then a graceful stop. */
const toReady = async (start: () => WorkerChild): Promise<{ readonly millis: number; readonly cpuMillis: number }> => {
  const child = start()
  try {
    const readyAt = await child.ready(60_000)
    const cpuMillis = processCpuSeconds(child.pid) * 1000
    await child.stop(30_000)
    return { millis: readyAt - child.spawnedAt, cpuMillis }
  } finally {
    child.kill()
  }
}

/** Spawn → exit (status 0) of `node <args>`. */
const toExit = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>>) =>
  new Promise<number>((resolve, reject) => {
    const began = epochMillis()
    const child = spawn(process.execPath, [...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
    // A command that hangs fails the phase rather than the bench waiting for ever.
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.once("error", reject)
    child.once("close", (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(epochMillis() - began)
      else reject(new Error(`node ${args.join(" ")} exited with ${code ?? signal}:\n${output.slice(-4_000)}`))
    })
  })

/** Runs the rounds on the redis-server at `url`/`port`; BullMQ's worker is `bundles.bullmq`. */
export const run = async (options: {
  readonly url: string
  readonly port: number
  readonly bundles: WorkerBundles
  readonly rounds: number
}): Promise<StartupResult> => {
  const { dir, remove } = await install()
  try {
    const bin = join(dir, "built", "node_modules", "@verk", "node", "dist", "bin.js")
    const sourceBin = join(root, "packages", "node", "src", "bin.ts")
    // Each kind its own compile cache, empty at the first round: the bin's, in the temporary
    // directory (TMPDIR) of its own. NODE_COMPILE_CACHE would turn the cache on in any Node
    // process, so it is left out (BullMQ's worker has none, as by default).
    const { NODE_COMPILE_CACHE: _, ...inherited } = baseEnv()
    const env = (cache: string) => {
      const tmp = join(dir, "tmp", cache)
      mkdirSync(tmp, { recursive: true })
      return { ...inherited, REDIS_URL: options.url, VERK_NAMESPACE: "bench-startup", TMPDIR: tmp }
    }
    const verkRun = (args: ReadonlyArray<string>, cache: string, label: string) => () =>
      spawnWorker({
        label,
        command: process.execPath,
        args,
        cwd: root,
        env: env(cache),
        readyLine: /worker process ready: node /,
      })
    const result = { bullmq: [], run: [], bullmqCpu: [], runCpu: [], runSource: [], help: [], helpSource: [] } as {
      readonly [K in keyof StartupResult]: Array<number>
    }
    for (let round = 0; round < options.rounds; round++) {
      const bullmq = await toReady(() =>
        spawnBullWorker(options.port, { concurrency: 25, bundles: options.bundles }, "bullmq-startup", inherited),
      )
      result.bullmq.push(bullmq.millis)
      result.bullmqCpu.push(bullmq.cpuMillis)
      const run = await toReady(verkRun([bin, "run", join(dir, "built", "workers.mjs")], "run", "verk-run"))
      result.run.push(run.millis)
      result.runCpu.push(run.cpuMillis)
      const runSource = await toReady(
        verkRun(
          ["--conditions=@verk/source", sourceBin, "run", join(dir, "source", "workers.mjs")],
          "run-source",
          "verk-run-source",
        ),
      )
      result.runSource.push(runSource.millis)
      result.help.push(await toExit([bin, "--help"], env("help")))
      result.helpSource.push(await toExit(["--conditions=@verk/source", sourceBin, "--help"], env("help-source")))
    }
    return result
  } finally {
    remove()
  }
}

/** The median of the rounds after the first. */
const warm = (starts: ReadonlyArray<number>) => percentile(starts.length > 1 ? starts.slice(1) : starts, 50)

/** Section 9 of the table. */
export const section = (result: StartupResult): Section => {
  const samples = Math.max(1, result.run.length - 1)
  const run = warm(result.run)
  const bullmq = warm(result.bullmq)
  return {
    scenario: "startup",
    title: `9. Start-up: spawn → ready line (a worker process) or → exit (--help), median of ${samples} starts after a first one`,
    systems: ["verk", "bullmq"],
    rows: [
      {
        metric: "Worker process: verk run → ready",
        unit: "ms",
        values: { verk: run, bullmq },
        note: "built package (tsc's dist/, as installed), a .mjs module; BullMQ: a Worker, waitUntilReady",
      },
      {
        metric: "verk run / BullMQ worker",
        unit: "×",
        values: { verk: run / bullmq },
        note: "the same rounds",
      },
      {
        metric: "Worker process CPU to ready",
        unit: "ms",
        values: { verk: warm(result.runCpu), bullmq: warm(result.bullmqCpu) },
        note: "user + system (/proc/<pid>/stat) when the ready line arrives: less swayed by a busy machine",
      },
      {
        metric: "verk run → ready, first start",
        unit: "ms",
        values: { verk: result.run[0] ?? Number.NaN, bullmq: result.bullmq[0] ?? Number.NaN },
        note: "the first round: Node's compile cache still empty",
      },
      {
        metric: "verk run → ready, from source",
        unit: "ms",
        values: { verk: warm(result.runSource) },
        note: "node --conditions=@verk/source src/bin.ts (type stripping), as npm run verk",
      },
      {
        metric: "verk --help → exit",
        unit: "ms",
        values: { verk: warm(result.help) },
        note: `built package; first start ${Math.round(result.help[0] ?? Number.NaN)} ms`,
      },
      {
        metric: "verk --help → exit, from source",
        unit: "ms",
        values: { verk: warm(result.helpSource) },
      },
    ],
  }
}
