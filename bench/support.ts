/**
 * Bench plumbing: percentiles, number formats, and the admin connection that reads the
 * private redis-server's counters (its own connections are named, so they can be left out).
 */
import { Redis } from "ioredis"

export const AdminConnectionName = "bench-admin"

export const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

/** Nearest-rank percentile of unsorted samples. */
export const percentile = (samples: ReadonlyArray<number>, p: number): number => {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[Math.min(rank, sorted.length) - 1]!
}

export const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a")
export const fmtMs = (n: number) => (Number.isFinite(n) ? `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms` : "n/a")
export const fmtMicros = (seconds: number) => (Number.isFinite(seconds) ? `${(seconds * 1e6).toFixed(1)} µs` : "n/a")
export const fmtRate = (n: number) => (Number.isFinite(n) ? `${fmtInt(n)} /s` : "n/a")

/** A promise with its resolver, and a timeout that rejects it (so a stuck phase fails loudly). */
export const deferred = <A>(label: string, timeoutMillis: number) => {
  let resolve!: (value: A) => void
  let reject!: (error: Error) => void
  const promise = new Promise<A>((res, rej) => {
    resolve = res
    reject = rej
  })
  const timer = setTimeout(() => reject(new Error(`${label}: timed out after ${timeoutMillis} ms`)), timeoutMillis)
  return {
    promise: promise.finally(() => clearTimeout(timer)),
    resolve,
  }
}

/** The bench's own connection to its redis-server: counters, client lists, raw pushes. */
export const connectAdmin = async (url: string): Promise<Redis> => {
  const admin = new Redis(url, { connectionName: AdminConnectionName, lazyConnect: true, maxRetriesPerRequest: 1 })
  await admin.connect()
  return admin
}

/** Connections to the server other than the bench's own admin ones. */
export const foreignConnections = async (admin: Redis): Promise<number> => {
  const list = (await admin.call("CLIENT", "LIST")) as string
  return list
    .split("\n")
    .filter((line) => line.trim() !== "")
    .filter((line) => !line.includes(` name=${AdminConnectionName} `)).length
}

/** Waits until every connection but the admin's has closed; returns how many are left. */
export const awaitConnectionsClosed = async (admin: Redis, timeoutMillis = 3_000): Promise<number> => {
  const deadline = Date.now() + timeoutMillis
  let left = await foreignConnections(admin)
  while (left > 0 && Date.now() < deadline) {
    await sleep(50)
    left = await foreignConnections(admin)
  }
  return left
}

/** Commands other clients sent during a window: `CONFIG RESETSTAT`, wait, `INFO commandstats`. */
export const commandsDuring = async (
  admin: Redis,
  windowMillis: number,
): Promise<{ readonly perSecond: number; readonly breakdown: string }> => {
  await admin.call("CONFIG", "RESETSTAT")
  const started = performance.now()
  await sleep(windowMillis)
  const info = (await admin.call("INFO", "commandstats")) as string
  const elapsed = (performance.now() - started) / 1000
  // The admin's own commands (this INFO is counted after it runs, RESETSTAT right after the reset).
  const own = new Set(["info", "config|resetstat", "client|list"])
  const counts: Array<[string, number]> = []
  for (const match of info.matchAll(/^cmdstat_(\S+):calls=(\d+)/gm)) {
    const [, name = "", calls = "0"] = match
    if (!own.has(name)) counts.push([name, Number(calls)])
  }
  counts.sort((a, b) => b[1] - a[1])
  const total = counts.reduce((sum, [, calls]) => sum + calls, 0)
  const breakdown = counts.map(([name, calls]) => `${name} ${(calls / elapsed).toFixed(1)}`).join(", ")
  return { perSecond: total / elapsed, breakdown: breakdown === "" ? "none" : breakdown }
}

/** CPU seconds redis-server has used so far (user + sys), from `INFO cpu`. */
export const redisCpuSeconds = async (admin: Redis): Promise<number> => {
  const info = (await admin.call("INFO", "cpu")) as string
  const field = (name: string) => Number(new RegExp(`${name}:(\\S+)`).exec(info)?.[1] ?? Number.NaN)
  return field("used_cpu_user") + field("used_cpu_sys")
}

/** A Sidekiq-format job as a foreign client (Ruby's Sidekiq, a script) would LPUSH it. */
export const sidekiqJob = (className: string, args: ReadonlyArray<unknown>, queue = "default"): string => {
  const now = Date.now() / 1000
  const jid = [...globalThis.crypto.getRandomValues(new Uint8Array(12))]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("")
  return JSON.stringify({ class: className, args, retry: true, queue, jid, created_at: now, enqueued_at: now })
}
