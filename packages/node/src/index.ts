export * as NodeProcess from "./NodeProcess.ts"
export * as Tracing from "./Tracing.ts"
export * as Metrics from "./web/Metrics.ts"
export * as Web from "./web/Web.ts"
