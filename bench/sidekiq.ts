/**
 * The Sidekiq column: Ruby Sidekiq's own client (`bench/sidekiq/push.rb`, push_bulk in batches of
 * 1,000) and its own server (`sidekiq -r bench/sidekiq/noop_worker.rb -c 25`) on the bench's
 * private redis-server. Used only when Ruby Sidekiq is installed; otherwise the column is skipped
 * with the reason.
 */
import { spawn, spawnSync } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { delimiter, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Redis } from "ioredis"
import { baseEnv, drainWithProcesses, type ProcessDrainResult, spawnWorker } from "./processes.ts"

const pushScript = fileURLToPath(new URL("./sidekiq/push.rb", import.meta.url))
const workerScript = fileURLToPath(new URL("./sidekiq/noop_worker.rb", import.meta.url))
/** Where Sidekiq parks the pushed jobs until its workers are ready (see `drain`). */
const ParkedKey = "bench:parked:queue:default"

const onPath = (command: string): boolean =>
  (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => dir !== "")
    .some((dir) => {
      try {
        accessSync(join(dir, command), constants.X_OK)
        return true
      } catch {
        return false
      }
    })

/** Sidekiq's version, or why it cannot be used here: `ruby -e 'require "sidekiq"'` and a `sidekiq` on PATH. */
export const detect = (): { readonly version: string; readonly ruby: string } | { readonly missing: string } => {
  const result = spawnSync("ruby", ["-e", 'require "sidekiq"; print Sidekiq::VERSION, " ", RUBY_VERSION'], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 30_000,
  })
  if (result.error !== undefined) {
    const code = (result.error as NodeJS.ErrnoException).code
    return { missing: code === "ENOENT" ? "ruby is not on PATH" : `ruby failed: ${result.error.message}` }
  }
  if (result.status !== 0) {
    const line = result.stderr.split("\n").find((text) => text.trim() !== "")
    return { missing: `ruby -e 'require "sidekiq"' failed: ${line?.trim() ?? `exit status ${result.status}`}` }
  }
  if (!onPath("sidekiq")) return { missing: "the sidekiq command is not on PATH" }
  const [version = "unknown", ruby = "unknown"] = result.stdout.trim().split(" ")
  return { version, ruby }
}

const env = (url: string) => ({ ...baseEnv(), REDIS_URL: url })

/** Pushes `jobs` no-op jobs with Sidekiq's client; resolves with the seconds the pushes took (timed in Ruby). */
export const enqueue = (url: string, jobs: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const child = spawn("ruby", [pushScript, String(jobs)], { env: env(url), stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.once("error", reject)
    child.once("close", (code) => {
      const seconds = /BENCH pushed=\d+ seconds=([\d.]+)/.exec(output)?.[1]
      if (code === 0 && seconds !== undefined) resolve(Number(seconds))
      else reject(new Error(`bench/sidekiq/push.rb exited ${code}:\n${output.slice(-4_000)}`))
    })
  })

export interface DrainOptions {
  readonly url: string
  readonly admin: Redis
  readonly jobs: number
  readonly concurrency: number
  readonly settleMillis: number
}

/**
 * Sidekiq's queue is a plain list and Sidekiq has no pause: the pushed jobs are renamed away
 * before the `sidekiq` process starts and renamed back once it is ready (RENAME wakes the BRPOPs
 * waiting on `queue:default`).
 */
export const drain = async (options: DrainOptions): Promise<ProcessDrainResult> => {
  await options.admin.rename("queue:default", ParkedKey)
  return drainWithProcesses({
    label: "Sidekiq drain",
    admin: options.admin,
    jobs: options.jobs,
    processes: 1,
    settleMillis: options.settleMillis,
    readyTimeoutMillis: 60_000,
    // Sidekiq's processors wait up to 2 s in BRPOP before they see the shutdown.
    shutdownGraceMillis: 30_000,
    spawn: (i) =>
      spawnWorker({
        label: `sidekiq-${i + 1}`,
        command: "sidekiq",
        args: ["-r", workerScript, "-c", String(options.concurrency), "-q", "default"],
        env: env(options.url),
        readyLine: /^BENCH ready pid=/,
      }),
    release: async () => {
      await options.admin.rename(ParkedKey, "queue:default")
    },
  })
}
