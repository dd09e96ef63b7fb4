/**
 * A worker process for the fault tests: `node --conditions=@verk/source test/fault/workerMain.ts`,
 * with its settings from the environment (REDIS_URL, VERK_QUEUES, VERK_HEARTBEAT_INTERVAL,
 * VERK_POLL_INTERVAL, VERK_SHUTDOWN_TIMEOUT, VERK_NODE_ID, VERK_MAX_RECOVERIES; see Settings.config),
 * running the workers of workers.ts through the product's own entry point, NodeProcess.run.
 */
import { run } from "../../packages/node/src/NodeProcess.ts"
import { workers } from "./workers.ts"

// Without REDIS_URL the product would use 127.0.0.1:6379: never touch a Redis we did not start.
if (process.env.REDIS_URL === undefined || process.env.REDIS_URL === "") {
  console.error("workerMain: REDIS_URL is required")
  process.exit(2)
}

// Should the test runner die without killing us, do not linger: exit once orphaned.
const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) process.exit(3)
}, 1_000).unref()

run(workers)
