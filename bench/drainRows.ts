/**
 * What the report says of every pair of drains of the same jobs (Verk's and BullMQ's), in the
 * sections that run them side by side (the workload matrix, flow control).
 */
import type { Row } from "./report.ts"
import type { DrainResult } from "./verk.ts"

/** Microseconds a job: `seconds` spent over `jobs`. */
export const perJob = (seconds: number, jobs: number): number => (seconds / jobs) * 1e6

/** A row's values: `pick` of each system's drain. */
export const sideBySide =
  (verk: DrainResult, bullmq: DrainResult) =>
  (pick: (drain: DrainResult) => number): Row["values"] => ({ verk: pick(verk), bullmq: pick(bullmq) })

/** What the two drains of the row `name` cost: Node CPU and redis-server CPU a job, peak RSS. */
export const costRows = (name: string, verk: DrainResult, bullmq: DrainResult): Array<Row> => {
  const both = sideBySide(verk, bullmq)
  return [
    {
      metric: `${name}: Node CPU per job`,
      unit: "us/job",
      values: both((drain) => perJob(drain.steadyCpuSeconds, drain.jobs)),
    },
    {
      metric: `${name}: redis-server CPU per job`,
      unit: "us/job",
      values: both((drain) => perJob(drain.redisCpuSeconds, drain.jobs)),
    },
    { metric: `${name}: peak RSS`, unit: "MiB", values: both((drain) => drain.peakRssMiB) },
  ]
}
