/**
 * A primary killed with SIGKILL while a Verk node drains and a producer enqueues: the scenario the
 * Sentinel and Cluster failover tests share. The node runs in this process (only Redis dies); its
 * worker records every run of every jid, and the producer counts a job as acknowledged only once
 * its enqueue returned. The result says how many acknowledged jobs never ran (lost), how many jobs
 * ran more than once (duplicated), and how long processing stopped.
 */
import { Context, Effect, Fiber, Layer, Option, References, Schema, Stream } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { Client } from "../../packages/core/src/Client.ts"
import { CurrentJob } from "../../packages/core/src/CurrentJob.ts"
import { Store } from "../../packages/core/src/Store.ts"
import * as Verk from "../../packages/core/src/Verk.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import type { ConnectionOptions } from "../../packages/redis/src/Connection.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"

/** Acknowledged enqueues in one run. */
const Jobs = 3_000
/** The primary dies once this share of the jobs is acknowledged. */
const KillAtShare = 0.4
/** Concurrent enqueue calls per producer batch. */
const BatchSize = 10
/** Concurrency of each queue, and how long each job works. */
const Concurrency = 10
const WorkMillis = 2
/**
 * Lagging variant: the node works slower than the producer enqueues, so a backlog waits in the
 * queues, as under load. What an asynchronous replica can lose of the enqueues is the jobs still
 * queued at the kill (a job already fetched runs on the live node); without a backlog almost none.
 */
const LaggingConcurrency = 2
const LaggingWorkMillis = 10
/** Without durability, the drain ends once no job started for this long (lost jobs never will). */
const QuietMillis = 2_000
/** After the last enqueue, every acknowledged job must have run within this. */
const DrainMillis = 30_000
/** After every job ran, in-progress lists and queues get this long to empty. */
const LeftoverMillis = 3_000
/** An enqueue that has not returned by then counts as failed (and is sent again as a new job). */
const EnqueueTimeout = "3 seconds"
/**
 * Lagging variant: the replicas that may be promoted are frozen (SIGSTOP, and their links closed on
 * the primary, or they would still get megabytes through their socket buffers) this long before the
 * kill, while the producer goes on, so the primary acknowledges writes they never get. Well under the
 * 1 s after which a sentinel (down-after-milliseconds) or the cluster (node timeout) marks a
 * silent replica down, so the frozen replica is still a candidate once it is resumed.
 */
const FreezeMillis = 450
/** Lagging variant with durability: writes not replicated within this fail with NotReplicated. */
const LaggingWaitTimeout = "200 millis"

export interface Topology {
  readonly name: string
  /** Where the store connects (Sentinel or Cluster); the URL is only read for credentials there. */
  readonly connection: ConnectionOptions
  readonly queues: ReadonlyArray<string>
  /** kill -9 a primary; returns the queues it served. */
  readonly kill: () => Promise<{ readonly killedPort: number; readonly queues: ReadonlyArray<string> }>
  /** Resolves once a replica took over (and, should the topology need it, a new replica follows it). */
  readonly waitForFailover: (killedPort: number) => Promise<{ readonly newPrimaryPort: number }>
  /**
   * Lagging variant: SIGSTOP the replicas that may replace the primary `kill` will kill (and close
   * their links on it); the returned `resume` sends SIGCONT.
   */
  readonly freezeReplicas?: () => Promise<{ readonly resume: () => void }>
  /**
   * A fault that outlives the failover (a paused primary that comes back): the producer goes on
   * enqueuing until this resolves (and at least until the scenario's jobs are acknowledged).
   */
  readonly faultOver?: (faultedPort: number) => Promise<void>
  /** A pause between the producer's batches, so that a long `faultOver` does not flood the node. */
  readonly producerPauseMillis?: number
  /** Concurrency of each queue (default 10), and how long each job works from the fault until `faultOver`. */
  readonly concurrency?: number
  readonly faultWorkMillis?: number
}

export interface ScenarioOptions {
  /** Freeze the replicas for `FreezeMillis` before the kill (and resume them right after it). */
  readonly lagging?: boolean
}

export interface FailoverReport {
  readonly acknowledged: number
  /** Acknowledged, never ran. */
  readonly lost: number
  /** Ran more than once (acknowledged or not). */
  readonly duplicated: number
  /** Jobs that had started before the fault and whose outcome was not written yet. */
  readonly inProgressAtFault: number
  /** Jobs that ran more than once although they were not in progress at the fault. */
  readonly duplicatedNotInProgress: number
  /** Ran although its enqueue failed (the enqueue was applied but its reply was lost). */
  readonly ranUnacknowledged: number
  readonly enqueueFailures: number
  /** Enqueue failures whose cause is NotReplicated (durability: the replicas did not acknowledge). */
  readonly notReplicated: number
  /** Enqueue failures (over the whole run) by their innermost cause. */
  readonly failureKinds: { readonly [kind: string]: number }
  /** Lagging variant: enqueues acknowledged while the replicas were frozen (0 otherwise). */
  readonly acknowledgedWhileFrozen: number
  /** Lagging variant: jobs queued (all queues) just before the kill; 0 otherwise, -1 when not read in time. */
  readonly queuedAtKill: number
  readonly failoverMillis: number
  /** From the kill to the first job of an affected queue that started and finished after it. */
  readonly processingAgainMillis: number | undefined
  /** Jobs of affected queues that finished after the failover was complete. */
  readonly finishedAfterFailover: number
  /** Jobs still in this (live) node's in-progress lists, and still queued, after the drain. */
  readonly leftInProgress: number
  readonly leftQueued: number
  /** Acknowledged jids whose run count is below 1 (the same as `lost`, listed for messages). */
  readonly missing: ReadonlyArray<string>
}

const Record = Worker.make({
  name: "FailoverRecord",
  args: Schema.Tuple([Schema.Int]),
  perform: () =>
    Effect.gen(function* () {
      const job = yield* CurrentJob
      const run = runs.get(job.jid)
      const now = Date.now()
      runs.set(job.jid, { count: (run?.count ?? 0) + 1, startedAt: now, firstStartedAt: run?.firstStartedAt ?? now })
      // A little work, so that jobs are in flight when the primary dies.
      yield* Effect.sleep(workMillis)
    }),
})

/** Runs of each jid, with the start of its latest run; one scenario at a time per process. */
const runs = new Map<string, { readonly count: number; readonly startedAt: number; readonly firstStartedAt: number }>()
/** How long each job of the current scenario works. */
let workMillis = WorkMillis

/** Resolves once `check` holds, polled every `everyMillis`; false when `timeoutMillis` passed first. */
const until = (check: () => boolean, timeoutMillis: number, everyMillis = 10) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMillis
    while (!check()) {
      if (Date.now() > deadline) return false
      yield* Effect.sleep(everyMillis)
    }
    return true
  })

/** A short name for an enqueue failure (its innermost cause's message, cut short). */
const describeFailure = (error: unknown): string => {
  let cause = error
  for (let depth = 0; depth < 8; depth++) {
    const next = typeof cause === "object" && cause !== null ? (cause as { cause?: unknown }).cause : undefined
    if (next === undefined || next === null) break
    cause = next
  }
  return (cause instanceof Error ? cause.message : String(cause)).slice(0, 60)
}

/** Whether `error` or any cause under it is the store's NotReplicated. */
const isNotReplicated = (error: unknown): boolean => {
  for (let cause = error, depth = 0; typeof cause === "object" && cause !== null && depth < 8; depth++) {
    if ((cause as { _tag?: unknown })._tag === "NotReplicated") return true
    cause = (cause as { cause?: unknown }).cause
  }
  return false
}

/** The scenario on `topology`, durability on (`replicas: 1`) or off, with lagging replicas or not. */
export const runFailover = (
  topology: Topology,
  durable: boolean,
  options: ScenarioOptions = {},
): Promise<FailoverReport> => {
  runs.clear()
  const lagging = options.lagging ?? false
  workMillis = lagging ? LaggingWorkMillis : WorkMillis
  const concurrency = topology.concurrency ?? (lagging ? LaggingConcurrency : Concurrency)
  const freezeReplicas = topology.freezeReplicas
  if (lagging && freezeReplicas === undefined) throw new Error(`${topology.name} cannot freeze its replicas`)
  const program = Effect.gen(function* () {
    const context = yield* Layer.build(
      Verk.layer({
        workers: [Record],
        queues: Object.fromEntries(topology.queues.map((queue) => [queue, concurrency])),
        pollInterval: "100 millis",
        heartbeatInterval: "1 second",
        shutdownTimeout: "1 second",
        logLevels: { start: "None", done: "None", fail: "None" },
      }).pipe(
        Layer.provideMerge(
          RedisStore.layer({
            // Required by the type; with Sentinel or Cluster only its credentials would be read (none).
            url: "redis://127.0.0.1",
            ...topology.connection,
            ...(durable ? { durability: { replicas: 1, ...(lagging ? { timeout: LaggingWaitTimeout } : {}) } } : {}),
          }),
        ),
      ),
    )
    const node = Context.get(context, Verk.Verk)
    const client = Context.get(context, Client)

    // Finish times per queue, from the node's events (published once the outcome is in Redis).
    const finished: Array<{ readonly queue: string; readonly jid: string; readonly at: number }> = []
    yield* (yield* node.subscribe).pipe(
      Stream.runForEach((event) =>
        Effect.sync(() => {
          if (event._tag === "JobFinished") finished.push({ queue: event.queue, jid: event.jid, at: Date.now() })
        }),
      ),
      Effect.forkScoped,
    )

    const acknowledged = new Set<string>()
    const sent = { count: 0, failures: 0, notReplicated: 0 }
    const failureKinds = new Map<string, number>()
    const killAt = Math.floor(Jobs * KillAtShare)
    const produce = Effect.gen(function* () {
      while (acknowledged.size < Jobs || !faultIsOver) {
        if (topology.producerPauseMillis !== undefined) yield* Effect.sleep(topology.producerPauseMillis)
        const batch = Array.from(
          { length: Math.max(1, Math.min(BatchSize, Jobs - acknowledged.size)) },
          () => sent.count++,
        )
        yield* Effect.forEach(
          batch,
          (n) =>
            client.enqueue(Record, [n], { queue: topology.queues[n % topology.queues.length]! }).pipe(
              Effect.timeoutOption(EnqueueTimeout),
              // A failed or timed-out enqueue may still have been applied: its job is not counted.
              Effect.match({
                onFailure: (error) => {
                  sent.failures++
                  if (isNotReplicated(error)) sent.notReplicated++
                  const kind = isNotReplicated(error) ? "NotReplicated" : describeFailure(error)
                  failureKinds.set(kind, (failureKinds.get(kind) ?? 0) + 1)
                },
                onSuccess: (job) => {
                  if (job._tag === "Some") acknowledged.add(job.value.jid)
                  else {
                    sent.failures++
                    failureKinds.set("timeout", (failureKinds.get("timeout") ?? 0) + 1)
                  }
                },
              }),
            ),
          { concurrency: "unbounded", discard: true },
        )
      }
    })
    let faultIsOver = topology.faultOver === undefined
    const producer = yield* Effect.forkScoped(produce)

    yield* until(() => acknowledged.size >= killAt, 30_000)
    const failuresBefore = sent.failures
    const notReplicatedBefore = sent.notReplicated
    const store = Context.get(context, Store)
    let acknowledgedWhileFrozen = 0
    let queuedAtKill = 0
    let resume: (() => void) | undefined
    if (lagging && freezeReplicas !== undefined) {
      const acknowledgedBefore = acknowledged.size
      resume = (yield* Effect.promise(() => freezeReplicas())).resume
      yield* Effect.sleep(FreezeMillis)
      acknowledgedWhileFrozen = acknowledged.size - acknowledgedBefore
      // The backlog on the primary: jobs acknowledged while frozen and still queued are what can vanish.
      // Bounded: with durability the connection may be held by a WAIT, and the freeze must stay short.
      const sizes = yield* Effect.forEach(topology.queues, (queue) => store.queueSize(queue), {
        concurrency: "unbounded",
      }).pipe(Effect.timeoutOption("100 millis"), Effect.orElseSucceed(Option.none))
      queuedAtKill = Option.match(sizes, { onNone: () => -1, onSome: (each) => each.reduce((sum, n) => sum + n, 0) })
    }
    const { killedPort, queues: affected } = yield* Effect.promise(() => topology.kill())
    // Once the process is gone (a reply already in our socket buffers may still be read after).
    const killedAt = Date.now()
    // The frozen replicas resume only once the primary is gone, with what they had received.
    resume?.()
    const faultOver = topology.faultOver
    if (faultOver !== undefined) {
      const normalWork = workMillis
      // A backlog through the fault: what a primary that is about to be demoted holds queued is lost.
      if (topology.faultWorkMillis !== undefined) workMillis = topology.faultWorkMillis
      yield* Effect.forkScoped(
        Effect.promise(() => faultOver(killedPort)).pipe(
          Effect.ensuring(
            Effect.sync(() => {
              faultIsOver = true
              workMillis = normalWork
            }),
          ),
        ),
      )
    }
    yield* Effect.promise(() => topology.waitForFailover(killedPort))
    const failedOverAt = Date.now()

    yield* Fiber.join(producer)
    const enqueueFailures = sent.failures - failuresBefore
    const everyRan = () => [...acknowledged].every((jid) => (runs.get(jid)?.count ?? 0) >= 1)
    // With durability every acknowledged job must run (a missing one fails the test, so wait long);
    // without, a lost job never runs, and the drain ends once nothing started for a while.
    // Only once processing resumed after the kill, and counted from the start of the drain.
    const drainFrom = Date.now()
    const lastStart = () => Math.max(drainFrom, ...[...runs.values()].map(({ startedAt }) => startedAt))
    const resumed = () => [...runs.values()].some(({ startedAt }) => startedAt > killedAt)
    const quiet = () => !durable && resumed() && Date.now() - lastStart() > QuietMillis
    yield* until(() => everyRan() || quiet(), DrainMillis, 50)

    // What the node still holds once every job ran: an outcome that was written on the dead primary
    // but never reached the replica leaves its job in progress of a live node, where nobody recovers it.
    const leftover = Effect.map(
      Effect.forEach(topology.queues, (queue) =>
        Effect.map(
          Effect.all([store.inProgress(queue, node.nodeId), store.queueSize(queue)]),
          ([inProgress, queued]) => ({ inProgress: inProgress.length, queued }),
        ),
      ),
      (counts) => ({
        inProgress: counts.reduce((sum, { inProgress }) => sum + inProgress, 0),
        queued: counts.reduce((sum, { queued }) => sum + queued, 0),
      }),
    )
    // Read again while anything is left, or while a read fails (a connection may still be moving).
    const readLeftover = Effect.orElseSucceed(leftover, () => undefined)
    let left = yield* readLeftover
    for (
      const deadline = Date.now() + LeftoverMillis;
      (left === undefined || left.inProgress + left.queued > 0) && Date.now() < deadline;
    ) {
      yield* Effect.sleep(100)
      left = yield* readLeftover
    }
    if (left === undefined) left = yield* leftover

    const affectedSet = new Set(affected)
    const firstAfterKill = finished
      .filter(
        ({ queue, jid, at }) => affectedSet.has(queue) && at > killedAt && (runs.get(jid)?.startedAt ?? 0) > killedAt,
      )
      .map(({ at }) => at)
    const missing = [...acknowledged].filter((jid) => (runs.get(jid)?.count ?? 0) < 1)
    const finishedBeforeFault = new Set(finished.filter(({ at }) => at <= killedAt).map(({ jid }) => jid))
    const inProgressAtFault = new Set(
      [...runs]
        .filter(([jid, run]) => run.firstStartedAt <= killedAt && !finishedBeforeFault.has(jid))
        .map(([jid]) => jid),
    )
    const duplicatedJids = [...runs].filter(([, { count }]) => count > 1).map(([jid]) => jid)
    return {
      acknowledged: acknowledged.size,
      lost: missing.length,
      duplicated: duplicatedJids.length,
      inProgressAtFault: inProgressAtFault.size,
      duplicatedNotInProgress: duplicatedJids.filter((jid) => !inProgressAtFault.has(jid)).length,
      ranUnacknowledged: [...runs.keys()].filter((jid) => !acknowledged.has(jid)).length,
      enqueueFailures,
      notReplicated: sent.notReplicated - notReplicatedBefore,
      failureKinds: Object.fromEntries(failureKinds),
      acknowledgedWhileFrozen,
      queuedAtKill,
      failoverMillis: failedOverAt - killedAt,
      processingAgainMillis: firstAfterKill.length === 0 ? undefined : Math.min(...firstAfterKill) - killedAt,
      finishedAfterFailover: finished.filter(({ queue, at }) => affectedSet.has(queue) && at > failedOverAt).length,
      leftInProgress: left.inProgress,
      leftQueued: left.queued,
      missing,
    } satisfies FailoverReport
  })
  // Connection warnings during the failover are expected; errors still show.
  return Effect.runPromise(program.pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")))
}

/** One line per run, for the issue's table. */
export const describeReport = (
  topology: string,
  durable: boolean,
  report: FailoverReport,
  options: ScenarioOptions = {},
): string =>
  `failover ${topology}, durability ${durable ? `replicas 1${options.lagging ? ` (timeout ${LaggingWaitTimeout})` : ""}` : "off"}, ` +
  `${options.lagging ? `lagging replica (frozen ${FreezeMillis} ms before the kill)` : "replica in step"}: ` +
  `acknowledged ${report.acknowledged}, lost ${report.lost}, duplicated ${report.duplicated} ` +
  `(in progress at the fault ${report.inProgressAtFault}, duplicated not in progress ${report.duplicatedNotInProgress}), ` +
  `enqueue failures ${report.enqueueFailures} (NotReplicated ${report.notReplicated}; ${JSON.stringify(report.failureKinds)}), ` +
  `kill→processing again ${report.processingAgainMillis ?? "never"} ms (failover ${report.failoverMillis} ms), ` +
  (options.lagging
    ? `acknowledged while frozen ${report.acknowledgedWhileFrozen}, queued at kill ${report.queuedAtKill}, `
    : "") +
  `ran unacknowledged ${report.ranUnacknowledged}, finished after failover ${report.finishedAfterFailover}, ` +
  `left in progress ${report.leftInProgress}, left queued ${report.leftQueued}`

/** Start (~3 s), drain, failover (~3 s) and the drain after it, on a loaded 2-core machine. */
const TestTimeout = 50_000

/**
 * The four runs of the scenario on one topology (replicas in step or lagging, durability off or on)
 * and what each must show. `setUp` starts the topology and registers what stops it.
 */
export const describeFailover = (
  title: string,
  setUp: (onCleanup: (cleanup: () => Promise<void>) => void) => Promise<Topology>,
): void => {
  describe(title, () => {
    const cleanups: Array<() => Promise<void>> = []
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    })

    for (const lagging of [false, true]) {
      for (const durable of [false, true]) {
        const replica = lagging ? "lagging replica" : "replica in step"
        it(
          `${replica}, durability ${durable ? "replicas 1: no acknowledged job is lost" : "off: processing resumes (losses printed)"}`,
          async () => {
            const topology = await setUp((cleanup) => cleanups.push(cleanup))
            const report = await runFailover(topology, durable, { lagging })
            console.log(describeReport(topology.name, durable, report, { lagging }))

            expect(report.processingAgainMillis, "a job ran and finished after the kill").toBeDefined()
            expect(report.finishedAfterFailover, "jobs finished after the failover").toBeGreaterThan(0)
            if (durable) {
              expect(report.missing, "acknowledged jobs that never ran").toEqual([])
              expect(report.lost).toBe(0)
              // Outcomes are replicated too, so none is left behind on the promoted replica.
              expect(report.leftInProgress, "jobs left in progress").toBe(0)
            }
            if (lagging && durable) {
              // The enqueues issued while the replicas were frozen were not acknowledged: the first fail
              // with NotReplicated, those queued behind their WAITs on the connection fail at the kill.
              expect(report.enqueueFailures, "enqueues refused while the replicas were frozen").toBeGreaterThan(0)
            }
            if (lagging && !durable) {
              // The primary acknowledged enqueues the frozen replica never got, and jobs still queued vanish.
              expect(report.lost, "acknowledged jobs lost with a lagging replica").toBeGreaterThan(0)
            }
          },
          TestTimeout,
        )
      }
    }
  })
}
