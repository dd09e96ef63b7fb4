/**
 * The public API of @verk/core. Runtime internals (processor, queue supervisor, fetcher,
 * scheduler, heartbeat, recovery) are not exported: they are reached through `Verk.layer`.
 */
export * as Cancel from "./Cancel.ts"
export * as Client from "./Client.ts"
export * as CurrentJob from "./CurrentJob.ts"
export * as Events from "./Events.ts"
export * as ExecutionMetrics from "./ExecutionMetrics.ts"
export * as Inspection from "./Inspection.ts"
export * as Job from "./Job.ts"
export * as JobResult from "./JobResult.ts"
export * as MemoryStore from "./MemoryStore.ts"
export * as Payload from "./Payload.ts"
export * as Periodic from "./Periodic.ts"
export * as RetryPolicy from "./RetryPolicy.ts"
export * as Settings from "./Settings.ts"
export * as Shutdown from "./Shutdown.ts"
export * as Stats from "./Stats.ts"
export * as Store from "./Store.ts"
export * as Trace from "./Trace.ts"
export * as Unique from "./Unique.ts"
export * as Verk from "./Verk.ts"
export * as Worker from "./Worker.ts"
