/**
 * The `verk` command: run a worker process, enqueue jobs, print stats, act on jobs, queues and
 * periodic entries as the dashboard does, serve the dashboard. `bin.ts` runs it.
 */
import { Command } from "effect/cli"
import { enqueue } from "./cli/enqueue.ts"
import { jobs } from "./cli/jobs.ts"
import { periodic } from "./cli/periodic.ts"
import { queue } from "./cli/queue.ts"
import { run } from "./cli/run.ts"
import { stats } from "./cli/stats.ts"
import { web } from "./cli/web.ts"

export const verk = Command.make("verk").pipe(
  Command.withDescription("Verk for Effect: Sidekiq-compatible jobs on Redis"),
  Command.withSubcommands([run, enqueue, stats, jobs, queue, periodic, web]),
)
