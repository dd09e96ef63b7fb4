export * as Tracing from "./Tracing.ts"
export * as WorkerProcess from "./WorkerProcess.ts"
export * as Metrics from "./web/Metrics.ts"
export * as Web from "./web/Web.ts"
