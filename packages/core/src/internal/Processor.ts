/**
 * The node's processor: runs each leased job (Pool.ts) as one `JobRun` (JobRun.ts), in a span of
 * its own when someone can see it. The services every run shares are gathered here once.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as References from "effect/References"
import * as Tracer from "effect/Tracer"
import { Client } from "../Client.ts"
import { Events } from "../Events.ts"
import * as Job from "../Job.ts"
import { QueueLimits } from "../Limits.ts"
import { Settings } from "../Settings.ts"
import { Stats } from "../Stats.ts"
import { JobStore, LimitStore, ResultStore } from "../Store.ts"
import { ThreadRunner } from "../Threads.ts"
import * as Trace from "../Trace.ts"
import { type RegisteredWorker, WorkerRegistry } from "../Worker.ts"
import type * as Admission from "./Admission.ts"
import { Cancels, noCancels } from "./Cancel.ts"
import * as JobRun from "./JobRun.ts"
import type { Lease } from "./Lease.ts"
import { Node } from "./Node.ts"
import * as Pacer from "./Pacer.ts"
import { ProgressBoard } from "./ProgressBoard.ts"

/**
 * The registered workers, for the checks made once at start. A registry whose `lookup` throws
 * counts as having none here: each job's own lookup throws again, and the run buries the job
 * saying so (JobRun.ts), where a throw here would stop the node.
 */
const registered = (registry: WorkerRegistry["Service"]): ReadonlyArray<RegisteredWorker> =>
  registry.names.flatMap((name) => {
    try {
      const worker = registry.lookup(name)
      return worker === undefined ? [] : [worker]
    } catch {
      return []
    }
  })

/**
 * One warning per threaded worker (`thread: true`) when no `ThreadRunner` is provided: its jobs
 * fail with `ThreadsUnavailable` (and are retried) rather than run in the node's event loop, which
 * the worker asked to be kept from.
 */
const warnUnthreaded = Effect.fnUntraced(function* (services: JobRun.Services) {
  if (services.threads !== undefined) return
  for (const { name, thread } of registered(services.registry)) {
    if (thread !== true) continue
    yield* Effect.logWarning(
      `Worker ${name} runs in worker threads (thread: true), but this node has no thread pool: its jobs ` +
        "fail with ThreadsUnavailable and are retried. Provide Threads.layer from @verk/node (verk run does).",
    ).pipe(Effect.annotateLogs({ worker: name }))
  }
})

export class Processor extends Context.Service<
  Processor,
  {
    /**
     * Runs one leased job to its outcome; its slot is freed as soon as the job's own code has
     * ended, before the outcome is written. Never fails: an outcome write that fails is retried
     * until it lands (the job stays in progress meanwhile), and any other failure while handling
     * the job (a defect in Verk, a payload no code expected) ends it in the dead set with what
     * failed. Interruption (shutdown) writes no outcome: the job is requeued by its queue.
     */
    readonly process: (lease: Lease) => Effect.Effect<JobRun.Outcome>
  }
>()("@verk/core/Processor") {}

/**
 * Admission by limits (Admission.ts), only when a worker or a queue has limits: the jobs of a node
 * without any take no step more. Absent, too, where no node or limit store is at hand (a test's
 * processor).
 */
const gateOf = Effect.fnUntraced(function* (registry: WorkerRegistry["Service"]) {
  const queueLimits = yield* QueueLimits
  const node = yield* Effect.serviceOption(Node)
  const store = yield* Effect.serviceOption(LimitStore)
  const limited =
    Object.keys(queueLimits).length > 0 || registered(registry).some((worker) => worker.limits !== undefined)
  if (!limited || Option.isNone(node) || Option.isNone(store)) return undefined
  return { store: store.value, node: node.value.id, queueLimits, pacer: Pacer.make() } satisfies Admission.Gate
})

export const layer: Layer.Layer<
  Processor,
  never,
  Client | WorkerRegistry | Events | Stats | Settings | JobStore | ResultStore | ProgressBoard
> = Layer.effect(
  Processor,
  Effect.gen(function* () {
    const settings = yield* Settings
    const registry = yield* WorkerRegistry
    const services: JobRun.Services = {
      registry,
      client: yield* Client,
      events: yield* Events,
      stats: yield* Stats,
      // A processor built without the node's cancels (a test's) has none to obey.
      cancels: Option.getOrElse(yield* Effect.serviceOption(Cancels), () => noCancels),
      maxRetries: settings.maxRetries,
      logLevels: settings.logLevels,
      releaseUnique: (yield* JobStore).releaseUnique,
      results: yield* ResultStore,
      progress: yield* ProgressBoard,
      threads: Option.getOrUndefined(yield* Effect.serviceOption(ThreadRunner)),
      limits: yield* gateOf(registry),
    }
    yield* warnUnthreaded(services)

    /**
     * One span per job ("Processor.process", a child of the enqueuer's when the job names it, see
     * Trace.ts, else the root of a trace of its own, like a request), made only when someone can
     * see it: a tracer other than Effect's native one (which exports nothing) is installed, or the
     * job carries a trace to continue. A span costs several µs, a sizeable share of a job's CPU,
     * so jobs nobody traces run without one.
     */
    const process = (lease: Lease): Effect.Effect<JobRun.Outcome> =>
      Effect.withFiber((fiber) => {
        // Decoded first (total: anything unusual is left to the run), so that the parent is read
        // from the job rather than searched for in the text.
        const decoded = Job.decodeCommon(lease.raw)
        const parent =
          decoded === undefined
            ? Trace.parentOf(lease.raw)
            : typeof decoded.traceparent === "string"
              ? Trace.parse(decoded.traceparent)
              : undefined
        const clock = fiber.getRef(Clock.Clock)
        const traced =
          parent !== undefined ||
          (fiber.getRef(Tracer.Tracer) !== Tracer.nativeTracer && fiber.getRef(References.TracerEnabled))
        if (!traced) return JobRun.execute(services, new JobRun.JobRun(lease, fiber, clock, undefined), decoded)
        return Effect.useSpan("Processor.process", parent === undefined ? { root: true } : { parent }, (span) =>
          Effect.withParentSpan(JobRun.execute(services, new JobRun.JobRun(lease, fiber, clock, span), decoded), span),
        )
      })

    return { process }
  }),
)
