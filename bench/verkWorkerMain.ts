/**
 * A Verk worker process for the drain phases, run as a user would run one: the product's entry
 * point `NodeProcess.run` with settings from the environment (REDIS_URL, VERK_QUEUES, ...), here
 * with the bench's workers (the no-op one of the drains, the workload matrix's two), whose performs
 * are reported to the bench (childReport.ts). Which one runs is the class of the jobs enqueued.
 */
import { NodeProcess } from "@verk/node"
import { startReporter } from "./childReport.ts"
import { AsyncPayload, ConcurrencyLimitedPayload, hooks, NoOp, Payload, RateLimitedPayload } from "./verkWorkers.ts"

if (process.env.REDIS_URL === undefined || process.env.REDIS_URL === "") {
  console.error("verkWorkerMain: REDIS_URL is required (the bench's private redis-server)")
  process.exit(2)
}

hooks.noOp = startReporter()
NodeProcess.run([NoOp, Payload, AsyncPayload, RateLimitedPayload, ConcurrencyLimitedPayload])
