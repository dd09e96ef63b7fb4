#!/usr/bin/env node
/** The `verk` command: run a worker process, enqueue a job, print stats. */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { enqueue } from "./cli/enqueue.ts"
import { run } from "./cli/run.ts"
import { stats } from "./cli/stats.ts"
import { teardown } from "./WorkerProcess.ts"

export const verk = Command.make("verk").pipe(
  Command.withDescription("Verk for Effect: Sidekiq-compatible jobs on Redis"),
  Command.withSubcommands([run, enqueue, stats]),
)

if (import.meta.main) {
  verk.pipe(Command.run({ version: "0.1.0" }), Effect.provide(NodeServices.layer), (main) =>
    NodeRuntime.runMain(main, { teardown }),
  )
}
