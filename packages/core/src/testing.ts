/**
 * A testing kit: test jobs with no Redis and no waiting, under `@effect/vitest`'s TestClock.
 * Three modes, as in Sidekiq::Testing:
 *
 * - `layerFake(workers)`: enqueued jobs are kept; `enqueued(worker)` lists them, `drain(worker)` and
 *   `drainAll` run them (and the jobs they enqueue), with a limit against endless chains.
 * - `layerInline(workers)`: a job runs when it is enqueued; its failure is the enqueuer's.
 * - `layerReal(workers, settings)`: the full runtime on the in-memory store, serving every
 *   worker's queue, where
 *   `TestClock.adjust` promotes scheduled and retry jobs deterministically; `events` lists what
 *   it published.
 *
 * Every mode validates args with the worker's schema, exactly as production does.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import * as Client from "./Client.ts"
import { CurrentJob } from "./CurrentJob.ts"
import { Events, type VerkEvent } from "./Events.ts"
import * as Inspection from "./Inspection.ts"
import * as Job from "./Job.ts"
import * as MemoryStore from "./MemoryStore.ts"
import type * as Periodic from "./Periodic.ts"
import * as Settings from "./Settings.ts"
import { SetStore, type Services as StoreServices } from "./Store.ts"
import * as Verk from "./Verk.ts"
import {
  type AnyWorker,
  type InvalidJobArgs,
  layerRegistry,
  type ServicesOf,
  type UnknownJobClass,
  type Worker,
  WorkerRegistry,
} from "./Worker.ts"

/** A drain ran more jobs than its limit: most likely jobs that enqueue each other forever. */
export class EndlessJobChain extends Data.TaggedError("EndlessJobChain")<{ readonly limit: number }> {
  override get message() {
    return `Drained ${this.limit} jobs and more keep coming: is a job enqueuing itself (or a cycle of jobs)?`
  }
}

/** A job run by the testing kit failed; `cause` is the job's own failure. */
export class JobFailure extends Data.TaggedError("JobFailure")<{
  readonly job: Job.Job
  readonly cause: Cause.Cause<unknown>
}> {
  override get message() {
    return `${this.job.class} ${this.job.jid} failed: ${Cause.pretty(this.cause)}`
  }
}

/** `assertEnqueued` found no such job. */
export class NotEnqueued extends Data.TaggedError("NotEnqueued")<{
  readonly worker: string
  readonly args: unknown
  readonly enqueued: ReadonlyArray<unknown>
}> {
  override get message() {
    return `Expected ${this.worker} to be enqueued with ${JSON.stringify(this.args)}; enqueued: ${JSON.stringify(this.enqueued)}`
  }
}

/** Jobs a drain runs at most, unless told otherwise. */
export const DefaultDrainLimit = 1_000

/** A job waiting in the fake store: its wire form, its decoded args, and when it runs if scheduled. */
export interface FakeJob<A> {
  readonly job: Job.Job
  readonly args: A
  /** Epoch seconds, for a scheduled job. */
  readonly at: number | undefined
}

interface Pending {
  readonly raw: string
  readonly job: Job.Job
  readonly where: { readonly queue: string } | { readonly set: "schedule" }
  readonly at: number | undefined
}

/** The fake mode's view of what was enqueued (Sidekiq::Testing's fake mode). */
export class Fake extends Context.Service<
  Fake,
  {
    /** The jobs waiting for `worker`, queued and scheduled, oldest first. */
    readonly jobs: <A, E, R>(worker: Worker<A, E, R>) => Effect.Effect<ReadonlyArray<FakeJob<A>>, InvalidJobArgs>
    /** Runs `worker`'s jobs, including those enqueued meanwhile, until none is left. Returns how many ran. */
    readonly drain: <A, E, R>(
      worker: Worker<A, E, R>,
    ) => Effect.Effect<number, UnknownJobClass | JobFailure | EndlessJobChain>
    /** Runs every job of every worker until none is left. */
    readonly drainAll: Effect.Effect<number, UnknownJobClass | JobFailure | EndlessJobChain>
    /** Forgets every waiting job. */
    readonly clear: Effect.Effect<void>
  }
>()("@verk/core/testing/Fake") {}

/** The jobs kept in the store, and how to run one: with `client` as the job's Client. */
const makeFake = (limit: number, client: Effect.Effect<Client.ClientShape>) =>
  Effect.gen(function* () {
    const store = yield* SetStore
    const registry = yield* WorkerRegistry

    const pending = Effect.gen(function* () {
      const found: Array<Pending> = []
      for (const queue of yield* store.queues) {
        // LRANGE lists newest first; the oldest runs first.
        for (const raw of [...(yield* store.queueRange(queue, 0, -1))].reverse()) {
          const job = yield* Effect.result(Job.decode(raw))
          if (Result.isSuccess(job)) found.push({ raw, job: job.success, where: { queue }, at: undefined })
        }
      }
      for (const { payload, score } of yield* store.setRange("schedule", 0, -1)) {
        const job = yield* Effect.result(Job.decode(payload))
        if (Result.isSuccess(job)) found.push({ raw: payload, job: job.success, where: { set: "schedule" }, at: score })
      }
      return found
    }).pipe(Effect.orDie)

    const take = (entry: Pending) =>
      ("queue" in entry.where
        ? store.deleteFromQueue(entry.where.queue, entry.raw)
        : store.deleteFromSet(entry.where.set, entry.raw)
      ).pipe(Effect.orDie)

    const perform = Effect.fnUntraced(function* (job: Job.Job) {
      const worker = yield* registry.resolve(job.class)
      const exit = yield* worker
        .run(job.args)
        .pipe(
          Effect.provideService(CurrentJob, CurrentJob.fromJob(job)),
          Effect.provideService(Client.Client, yield* client),
          Effect.exit,
        )
      if (exit._tag === "Failure") return yield* Effect.fail(new JobFailure({ job, cause: exit.cause }))
    })

    const drainWhere = Effect.fnUntraced(function* (accept: (job: Job.Job) => boolean) {
      let ran = 0
      while (true) {
        const next = (yield* pending).find((entry) => accept(entry.job))
        if (next === undefined) return ran
        if (ran >= limit) return yield* Effect.fail(new EndlessJobChain({ limit }))
        yield* take(next)
        ran++
        yield* perform(next.job)
      }
    })

    const fake: Fake["Service"] = {
      jobs: (worker) =>
        Effect.flatMap(pending, (entries) =>
          Effect.forEach(
            entries.filter((entry) => entry.job.class === worker.name),
            (entry) =>
              Effect.map(worker.decodeArgs(entry.job.args), (args) => ({ job: entry.job, args, at: entry.at })),
          ),
        ),
      drain: (worker) =>
        Effect.flatMap(registry.resolve(worker.name), () => drainWhere((job) => job.class === worker.name)),
      drainAll: drainWhere(() => true),
      clear: Effect.gen(function* () {
        for (const entry of yield* pending) yield* take(entry)
      }),
    }
    return { fake, perform, pending, take }
  })

const storeAndRegistry = <const Workers extends ReadonlyArray<AnyWorker<unknown>>>(workers: Workers) =>
  Layer.merge(MemoryStore.layer, layerRegistry(workers))

/** Fake mode: jobs wait in memory until the test drains them. */
export const layerFake = <const Workers extends ReadonlyArray<AnyWorker<unknown>>>(
  workers: Workers,
  options: { readonly drainLimit?: number | undefined } = {},
): Layer.Layer<Fake | Client.Client | StoreServices | WorkerRegistry, never, ServicesOf<Workers>> =>
  Layer.effect(
    Fake,
    Effect.flatMap(Client.Client, (client) =>
      Effect.map(makeFake(options.drainLimit ?? DefaultDrainLimit, Effect.succeed(client)), ({ fake }) => fake),
    ),
  ).pipe(Layer.provideMerge(Client.layer), Layer.provideMerge(storeAndRegistry(workers)))

/**
 * Inline mode: `enqueue` (and `schedule`, whatever the time) runs the job at once, and jobs it
 * enqueues run too. A job's failure makes the enqueue die with a `JobFailure` carrying it.
 */
export const layerInline = <const Workers extends ReadonlyArray<AnyWorker<unknown>>>(
  workers: Workers,
  options: { readonly drainLimit?: number | undefined } = {},
): Layer.Layer<Client.Client | StoreServices | WorkerRegistry, never, ServicesOf<Workers>> =>
  Layer.effect(
    Client.Client,
    Effect.gen(function* () {
      const limit = options.drainLimit ?? DefaultDrainLimit
      const base = yield* Client.make
      const depth = yield* Ref.make(0)
      // Jobs run inline get this very client, so what they enqueue runs inline too.
      const self: { client?: Client.ClientShape } = {}
      const { perform, pending, take } = yield* makeFake(
        limit,
        Effect.sync(() => self.client ?? base),
      )
      // Runs the job just written; nested enqueues run inside it, depth-first like a call.
      const runNow = (job: Job.Job) =>
        Effect.gen(function* () {
          const entry = (yield* pending).find((candidate) => candidate.job.jid === job.jid)
          if (entry === undefined) return job
          const level = yield* Ref.updateAndGet(depth, (n) => n + 1)
          if (level > limit) return yield* Effect.die(new EndlessJobChain({ limit }))
          yield* take(entry)
          yield* perform(entry.job).pipe(
            Effect.catch((error) => Effect.die(error)),
            Effect.ensuring(Ref.update(depth, (n) => n - 1)),
          )
          return job
        })
      const client: Client.ClientShape = {
        enqueue: (worker, args, options) => Effect.flatMap(base.enqueue(worker, args, options), runNow),
        enqueueMany: (worker, argsList, options) =>
          Effect.flatMap(base.enqueueMany(worker, argsList, options), (jobs) => Effect.forEach(jobs, runNow)),
        enqueueRaw: (input) => Effect.flatMap(base.enqueueRaw(input), runNow),
        schedule: (worker, args, _when, options) => Effect.flatMap(base.enqueue(worker, args, options), runNow),
        scheduleRaw: (input) => Effect.flatMap(base.enqueueRaw(input), runNow),
        // A job that took its lock runs now; its lock is held until its ttl (no node releases it).
        enqueueUnique: (worker, args, options) =>
          Effect.tap(base.enqueueUnique(worker, args, options), (result) =>
            result._tag === "Enqueued" ? runNow(result.job) : Effect.void,
          ),
      }
      self.client = client
      return client
    }),
  ).pipe(Layer.provideMerge(storeAndRegistry(workers)))

/** Every event the runtime published since the layer started (real mode). */
export class Recorder extends Context.Service<Recorder, { readonly events: Effect.Effect<ReadonlyArray<VerkEvent>> }>()(
  "@verk/core/testing/Recorder",
) {}

const recorderLayer: Layer.Layer<Recorder, never, Events> = Layer.effect(
  Recorder,
  Effect.gen(function* () {
    const seen = yield* Ref.make<ReadonlyArray<VerkEvent>>([])
    const stream = yield* (yield* Events).subscribe
    yield* Effect.forkScoped(Stream.runForEach(stream, (event) => Ref.update(seen, (all) => [...all, event])))
    return { events: Ref.get(seen) }
  }),
)

/**
 * The queues real mode serves: those of `settings` (`default` when it names none), and every
 * worker's queue it leaves out, at the default concurrency (a test runs the jobs of the workers it
 * gives, whatever their queue).
 */
const realQueues = (
  workers: ReadonlyArray<AnyWorker<unknown>>,
  queues: Readonly<Record<string, number>> | undefined,
): Readonly<Record<string, number>> => {
  const served: Record<string, number> = { ...(queues ?? Settings.defaults.queues) }
  const concurrency = Settings.defaults.queues.default ?? 25
  for (const worker of workers) if (!Object.hasOwn(served, worker.queue)) served[worker.queue] = concurrency
  return served
}

/**
 * Real mode: the whole runtime on the in-memory store, serving the queues of `settings` and every
 * worker's queue. Loops wait on `Clock`, so under TestClock `TestClock.adjust` runs due scheduled
 * and retry jobs with no real waiting. Polling is slowed (the in-memory store notifies every
 * change) so that adjusting by days stays cheap. Periodic entries given as `settings.periodic`
 * run too, their ticks driven by `TestClock.adjust` like the rest.
 */
export const layerReal = <const Workers extends ReadonlyArray<AnyWorker<unknown>>>(
  workers: Workers,
  settings: Settings.Input & {
    readonly periodic?: ReadonlyArray<Periodic.Entry> | undefined
    readonly queueLimits?: Verk.Options<Workers>["queueLimits"]
  } = {},
): Layer.Layer<Verk.Services | Recorder | StoreServices, never, ServicesOf<Workers>> =>
  recorderLayer.pipe(
    Layer.provideMerge(
      Verk.layer({
        pollInterval: "1 hour",
        heartbeatInterval: "1 hour",
        statsFlushInterval: "1 hour",
        ...settings,
        queues: realQueues(workers, settings.queues),
        workers,
      }),
    ),
    Layer.provideMerge(MemoryStore.layer),
  )

/** The jobs waiting for `worker`, queued and scheduled, oldest first, with decoded args (fake mode). */
export const enqueued = <A, E, R>(worker: Worker<A, E, R>) => Fake.use((fake) => fake.jobs(worker))

/** Runs `worker`'s jobs, and those they enqueue, until none is left; returns how many ran (fake mode). */
export const drain = <A, E, R>(worker: Worker<A, E, R>) => Fake.use((fake) => fake.drain(worker))

/** Runs every waiting job, and those they enqueue, until none is left (fake mode). */
export const drainAll = Fake.use((fake) => fake.drainAll)

/** Forgets every waiting job (fake mode). */
export const clear = Fake.use((fake) => fake.clear)

/** Every event the runtime published since the layer started (real mode). */
export const events = Recorder.use((recorder) => recorder.events)

/** Fails with `NotEnqueued` unless a job of `worker` with these args is waiting (fake mode). */
export const assertEnqueued = Effect.fn("testing.assertEnqueued")(function* <A, E, R>(
  worker: Worker<A, E, R>,
  args: A,
) {
  const expected = yield* worker.encodeArgs(args)
  const jobs = yield* enqueued(worker)
  const wanted = canonical(expected)
  if (!jobs.some(({ job }) => canonical(job.args) === wanted)) {
    return yield* Effect.fail(
      new NotEnqueued({ worker: worker.name, args: expected, enqueued: jobs.map(({ job }) => job.args) }),
    )
  }
})

/** JSON with sorted keys, so that equal values compare equal as text. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === "object" && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  )

/** The retry set's jobs, soonest first. */
export const retries = Effect.map(Inspection.RetrySet.range(), (entries) => entries.flatMap(decoded))
/** The dead set's jobs, oldest first. */
export const dead = Effect.map(Inspection.DeadSet.range(), (entries) => entries.flatMap(decoded))
/** The scheduled jobs, soonest first. */
export const scheduled = Effect.map(Inspection.ScheduledSet.range(), (entries) => entries.flatMap(decoded))

const decoded = (entry: Inspection.Entry): ReadonlyArray<Job.Job> =>
  Result.isSuccess(entry.job) ? [entry.job.success] : []
