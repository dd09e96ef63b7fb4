/**
 * A worker process for the limits' fault tests: as workerMain.ts (settings from the environment,
 * the product's entry point NodeProcess.run), running the workers of limitWorkers.ts.
 */
import { run } from "../../packages/node/src/NodeProcess.ts"
import { connectRecorder, limitWorkers } from "./limitWorkers.ts"

if (process.env.REDIS_URL === undefined || process.env.REDIS_URL === "") {
  console.error("limitWorkerMain: REDIS_URL is required")
  process.exit(2)
}

const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) process.exit(3)
}, 1_000).unref()

await connectRecorder()
run(limitWorkers)
