/**
 * `/healthz` for process managers and Kubernetes probes: 200 with the node's health as JSON while
 * its heartbeat reaches Redis, every background loop runs and its event loop is not blocked, 503
 * (same body) otherwise, so a supervisor can restart a worker that is up but no longer working.
 * Opt-in, and on loopback unless told otherwise: `verk run --health-port 9090 [--health-host 0.0.0.0]`.
 *
 * The server runs in a worker thread (HealthThread.ts) that reads what this side writes into a
 * SharedArrayBuffer: a tick (LoopWatchdog.ts) and a snapshot of `Verk.health` with the running jobs,
 * refreshed every `SnapshotInterval`. So a job that blocks the event loop longer than
 * `loopBlockedLimit` gets a 503 "event loop blocked for N ms" answer rather than a probe timeout.
 */
import { Worker } from "node:worker_threads"
import { Verk } from "@verk/core"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import {
  HeaderBytes,
  Slot,
  type Snapshot,
  SnapshotBytes,
  type SnapshotJob,
  type ThreadData,
  type ThreadMessage,
} from "./HealthThread.ts"
import * as LoopWatchdog from "./LoopWatchdog.ts"

/** Where and how `/healthz` is served. */
export interface Options {
  readonly port: number
  /** 127.0.0.1 by default; a probe from outside the host (Kubernetes) needs 0.0.0.0. */
  readonly host?: string | undefined
  /**
   * How long the event loop may go without running before `/healthz` answers 503 and the block is
   * logged: 15 seconds (three default heartbeat intervals) unless told; `verk run` passes three of
   * the node's heartbeat intervals, or `--loop-blocked-limit`.
   */
  readonly loopBlockedLimit?: Duration.Input | undefined
}

/** The health thread could not serve (its port is taken, say), or stopped. */
export class HealthThreadFailed extends Data.TaggedError("HealthThreadFailed")<{
  /** The thread's error, as an `Error` with its `code` (`EADDRINUSE`). */
  readonly cause: Error
}> {
  override get message() {
    return `the /healthz thread failed: ${this.cause.message}`
  }
}

/** How often the snapshot the thread answers from is refreshed: a probe sees health this old at most. */
export const SnapshotInterval = Duration.millis(250)

/** The default `loopBlockedLimit`: three of the default heartbeat intervals. */
export const DefaultLoopBlockedLimit = Duration.seconds(15)

// Built sources are .js beside this module's .js; the sources (`@verk/source`) run as .ts.
const threadFile = new URL(import.meta.url.endsWith(".ts") ? "./HealthThread.ts" : "./HealthThread.js", import.meta.url)

/** Snapshots into the buffer: a seqlock (odd while writing) around the bytes and their length. */
const writer = (buffer: SharedArrayBuffer) => {
  const control = new Int32Array(buffer, 0, 4)
  const bytes = new Uint8Array(buffer, HeaderBytes, SnapshotBytes)
  const encoder = new TextEncoder()
  return (health: Verk.Health, jobs: ReadonlyArray<Verk.RunningJob>): void => {
    const running: Array<SnapshotJob> = jobs.map((job) => ({
      queue: job.queue,
      class: job.className,
      jid: job.jid,
      startedAt: new Date(job.startedMillis).toISOString(),
    }))
    // Leaves out running jobs until it fits (a node running thousands at once).
    let encoded = encoder.encode(JSON.stringify({ health, running, runningOmitted: 0 } satisfies Snapshot))
    for (let keep = Math.min(running.length, 200); encoded.length > SnapshotBytes; keep = Math.floor(keep / 2)) {
      const snapshot: Snapshot = { health, running: running.slice(0, keep), runningOmitted: running.length - keep }
      encoded = encoder.encode(JSON.stringify(snapshot))
      if (keep === 0) break
    }
    if (encoded.length > SnapshotBytes) return
    Atomics.add(control, Slot.seq, 1)
    bytes.set(encoded)
    Atomics.store(control, Slot.length, encoded.length)
    Atomics.add(control, Slot.seq, 1)
  }
}

/** Starts the thread and waits until it listens (or fails to); terminated with the scope. */
const startThread = (data: ThreadData) =>
  Effect.acquireRelease(
    Effect.callback<Worker, HealthThreadFailed>((resume) => {
      const worker = new Worker(threadFile, {
        workerData: data,
        // Small heaps: the thread holds one snapshot at a time; not the process's V8 flags (NodeFlags.ts).
        execArgv: [],
        resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 },
      })
      // The probe must not keep a process alive that is otherwise done.
      worker.unref()
      const failed = (message: string, code: string | undefined) => {
        void worker.terminate()
        resume(Effect.fail(new HealthThreadFailed({ cause: Object.assign(new Error(message), { code }) })))
      }
      worker.once("message", (message: ThreadMessage) =>
        message._tag === "Listening" ? resume(Effect.succeed(worker)) : failed(message.message, message.code),
      )
      worker.once("error", (error) => failed(error.message, undefined))
      worker.once("exit", (code) => failed(`the health thread exited (code ${code})`, undefined))
    }),
    (worker) =>
      Effect.promise(() => {
        // Stopped on purpose: not the death `layer` reports.
        worker.removeAllListeners("exit")
        return worker.terminate()
      }),
  )

/** Serves `/healthz` for the `Verk` node in context, with the event-loop watchdog, until the scope closes. */
export const layer = (options: Options): Layer.Layer<never, HealthThreadFailed, Verk.Verk> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const verk = yield* Verk.Verk
      const limit = Duration.fromInputUnsafe(options.loopBlockedLimit ?? DefaultLoopBlockedLimit)
      const limitMillis = Math.max(1, Math.round(Duration.toMillis(limit)))
      const tickMillis = LoopWatchdog.tickMillisFor(limitMillis)
      const buffer = new SharedArrayBuffer(HeaderBytes + SnapshotBytes)
      const write = writer(buffer)
      const refresh = Effect.all([verk.health, verk.running]).pipe(Effect.map(([health, jobs]) => write(health, jobs)))
      // The first probe finds a snapshot.
      yield* refresh
      yield* LoopWatchdog.start({ buffer, limitMillis, tickMillis, clock: yield* Clock.Clock })
      const worker = yield* startThread({
        kind: "verk-health",
        buffer,
        port: options.port,
        host: options.host ?? "127.0.0.1",
        limitMillis,
        checkMillis: tickMillis,
      })
      // Nothing answers probes any more: they fail, and a supervisor restarts the node; say why.
      const runFork = Effect.runForkWith(yield* Effect.context<never>())
      worker.once("exit", (code) =>
        runFork(Effect.logError(`the /healthz thread stopped (exit code ${code}): probes get no answer`)),
      )
      yield* Effect.forkScoped(Effect.repeat(refresh, Schedule.spaced(SnapshotInterval)))
    }),
  )
