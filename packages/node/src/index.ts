export * as WorkerProcess from "./WorkerProcess.ts"
export * as Web from "./web/Web.ts"
