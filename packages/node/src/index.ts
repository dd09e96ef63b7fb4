export * as WorkerProcess from "./WorkerProcess.ts"
