/**
 * The thread that answers `/healthz` (HealthServer.ts starts it): plain Node code, on its own event
 * loop, so that a node whose main loop is blocked (a job in a synchronous loop) still answers its
 * probe, with 503, instead of letting it time out. It reads a SharedArrayBuffer the main thread
 * writes: a tick counter bumped every `tickMillis` by a main-thread timer, and the latest health
 * snapshot (JSON: `Verk.health` and the running jobs, refreshed every few hundred ms). The thread
 * times the tick with its own monotonic clock: a tick unchanged for longer than `limitMillis`
 * means a blocked loop, told on `/healthz` and once on stderr (written straight to fd 2: a
 * thread's `process.stderr` goes through the blocked main thread).
 *
 * Imported by the main thread for its layout only; it serves when started as the health thread.
 */
import { writeSync } from "node:fs"
import { createServer } from "node:http"
import { performance } from "node:perf_hooks"
import { parentPort, workerData } from "node:worker_threads"

/** The Int32 slots at the buffer's start: the tick, the snapshot's seqlock (odd: being written), its byte length. */
export const Slot = { tick: 0, seq: 1, length: 2 } as const
/** Where the snapshot's bytes start in the buffer. */
export const HeaderBytes = 16
/** Room for the snapshot's JSON; the writer leaves running jobs out rather than overflow it. */
export const SnapshotBytes = 64 * 1024

/** What the health thread is started with (`workerData`). */
export interface ThreadData {
  readonly kind: "verk-health"
  readonly buffer: SharedArrayBuffer
  readonly port: number
  readonly host: string
  readonly limitMillis: number
  /** How often the thread looks at the tick (for its stderr line; a probe looks at once). */
  readonly checkMillis: number
}

/** What the thread tells its owner once: listening, or why it cannot. */
export type ThreadMessage =
  | { readonly _tag: "Listening" }
  | { readonly _tag: "Failed"; readonly message: string; readonly code: string | undefined }

/** A running job as the snapshot carries it. */
export interface SnapshotJob {
  readonly queue: string
  readonly class: string | undefined
  readonly jid: string | undefined
  readonly startedAt: string
}

/** The snapshot: the node's health (`Verk.health`) and its running jobs. */
export interface Snapshot {
  readonly health: object
  readonly running: ReadonlyArray<SnapshotJob>
  /** Running jobs left out to fit the buffer. */
  readonly runningOmitted: number
}

const isThreadData = (data: unknown): data is ThreadData =>
  typeof data === "object" && data !== null && (data as { kind?: unknown }).kind === "verk-health"

/** The node's log line format (Effect's console logger), one write so that lines do not interleave. */
const logLine = (level: string, message: string): void => {
  const now = new Date()
  const pad = (n: number, width = 2) => n.toString().padStart(width, "0")
  const time = `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}.${pad(now.getMilliseconds(), 3)}`
  writeSync(2, `[${time}] ${level} (health thread): ${message}\n`)
}

const describeJobs = (jobs: ReadonlyArray<SnapshotJob>): string =>
  jobs
    .map((job) => `${job.class ?? "?"} (jid ${job.jid ?? "?"}, queue ${job.queue}, since ${job.startedAt})`)
    .join(", ")

const serve = (data: ThreadData, port: NonNullable<typeof parentPort>): void => {
  const control = new Int32Array(data.buffer, 0, 4)
  const bytes = new Uint8Array(data.buffer, HeaderBytes)
  const decoder = new TextDecoder()
  let seenTick = Atomics.load(control, Slot.tick)
  let seenAt = performance.now()
  let reported = false
  let parsedSeq = -1
  let snapshot: Snapshot | undefined

  /** Milliseconds since the main thread last ticked (as far as this thread has seen). */
  const sinceTick = (): number => {
    const tick = Atomics.load(control, Slot.tick)
    const now = performance.now()
    if (tick !== seenTick) {
      seenTick = tick
      seenAt = now
      reported = false
    }
    return now - seenAt
  }

  /** The latest whole snapshot (a seqlock read: retried while the main thread writes it). */
  const read = (): Snapshot | undefined => {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const seq = Atomics.load(control, Slot.seq)
      if (seq === parsedSeq) return snapshot
      if (seq % 2 === 1) continue
      const copy = bytes.slice(0, Atomics.load(control, Slot.length))
      if (Atomics.load(control, Slot.seq) !== seq) continue
      snapshot = copy.length === 0 ? undefined : (JSON.parse(decoder.decode(copy)) as Snapshot)
      parsedSeq = seq
      return snapshot
    }
    return snapshot
  }

  const check = setInterval(() => {
    const blocked = sinceTick()
    if (blocked <= data.limitMillis || reported) return
    reported = true
    const jobs = read()?.running ?? []
    logLine(
      "WARN",
      `event loop blocked for ${Math.round(blocked)} ms (limit ${data.limitMillis} ms): /healthz answers 503;` +
        ` running at the last health snapshot: ${jobs.length === 0 ? "no job" : describeJobs(jobs)}` +
        " (a job started since is named once the loop runs again)",
    )
  }, data.checkMillis)
  check.unref()

  const server = createServer((request, response) => {
    const path = (request.url ?? "").split("?")[0]
    if (path !== "/healthz" || (request.method !== "GET" && request.method !== "HEAD")) {
      response.writeHead(404, { "content-type": "text/plain" }).end("Not Found")
      return
    }
    const blockedMillis = Math.round(sinceTick())
    const current = read()
    const blocked = blockedMillis > data.limitMillis
    const body: Record<string, unknown> = {
      ...(current?.health ?? { healthy: false }),
      running: current?.running ?? [],
      runningOmitted: current?.runningOmitted ?? 0,
      eventLoop: { blockedMillis, limitMillis: data.limitMillis },
    }
    if (blocked) {
      body.healthy = false
      body.reason = `event loop blocked for ${blockedMillis} ms`
    } else if (current === undefined) {
      body.reason = "no health snapshot yet"
    }
    const text = JSON.stringify(body)
    response
      .writeHead(body.healthy === true ? 200 : 503, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
      })
      .end(request.method === "HEAD" ? undefined : text)
  })
  server.once("error", (error: NodeJS.ErrnoException) => {
    port.postMessage({ _tag: "Failed", message: error.message, code: error.code } satisfies ThreadMessage)
    clearInterval(check)
  })
  server.listen(data.port, data.host, () => port.postMessage({ _tag: "Listening" } satisfies ThreadMessage))
}

if (parentPort !== null && isThreadData(workerData)) serve(workerData, parentPort)
