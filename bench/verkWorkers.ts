/**
 * The bench's Verk workers, shared by the bench process (which enqueues them and runs the latency
 * phases in-process), the worker processes of the drain phases (verkWorkerMain.ts) and the
 * embedded drain of the workload matrix (verkEmbeddedMain.ts).
 */
import { Limits, Worker } from "@verk/core"
// Effect's modules by path, as the README advises for a worker process's modules: the "effect"
// index would load every module of Effect into each worker process (4–5 MiB more of its idle RSS).
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** What the running phase wants to hear from `perform`; each phase (or process) sets its own. */
export const hooks = {
  noOp: (): void => {},
  probe: (_value: number): void => {},
}

export const NoOp = Worker.make({
  name: "NoOp",
  args: Schema.Tuple([]),
  perform: () => Effect.sync(() => hooks.noOp()),
})

/** Carries a number (an index or a due time) to the perform hook. */
export const Probe = Worker.make({
  name: "Probe",
  args: Schema.Tuple([Schema.Number]),
  perform: ([value]) => Effect.sync(() => hooks.probe(value)),
})

/** The workload matrix's no-op job: its one arg, a string of the row's size, is decoded and dropped. */
export const Payload = Worker.make({
  name: "Payload",
  args: Schema.Tuple([Schema.String]),
  perform: () => Effect.sync(() => hooks.noOp()),
})

/** How long the workload matrix's "async" job waits: a stand-in for a call to another service. */
export const AsyncWaitMillis = 10

// Made once, as an application would hold its effects: BullMQ's job is handed a number too.
const asyncWait = Effect.sleep(Duration.millis(AsyncWaitMillis))
const done = Effect.sync(() => hooks.noOp())

/** The workload matrix's "async" job: waits `AsyncWaitMillis` (Effect.sleep), then is done. */
export const AsyncPayload = Worker.make({
  name: "AsyncPayload",
  args: Schema.Tuple([Schema.String]),
  perform: () => Effect.andThen(asyncWait, done),
})

/** The flow-control section's rate limit: starts per second across every node (flowControl.ts). */
export const RatePerSecond = 500

/** The flow-control section's concurrency limit: jobs running at once across every node. */
export const ConcurrentJobs = 4

/** The flow-control section's rate-limited job: a no-op under `Limits.rate` (`RatePerSecond` per second). */
export const RateLimitedPayload = Worker.make({
  name: "RateLimitedPayload",
  args: Schema.Tuple([Schema.String]),
  limits: [Limits.rate({ name: "bench-rate", limit: RatePerSecond, per: "1 second" })],
  perform: () => Effect.sync(() => hooks.noOp()),
})

/**
 * The flow-control section's concurrency-limited job: the matrix's async job (it waits
 * `AsyncWaitMillis`) under `Limits.concurrency` (`ConcurrentJobs` at once). Its snooze is short:
 * the slot it waits for frees within a job's wait.
 */
export const ConcurrencyLimitedPayload = Worker.make({
  name: "ConcurrencyLimitedPayload",
  args: Schema.Tuple([Schema.String]),
  limits: [Limits.concurrency({ name: "bench-concurrency", limit: ConcurrentJobs, snooze: "20 millis" })],
  perform: () => Effect.andThen(asyncWait, done),
})
