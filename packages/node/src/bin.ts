#!/usr/bin/env node
/**
 * The `verk` binary: runs the command of `main.ts` with the process's arguments, then exits: 0 on
 * success or after a graceful shutdown on SIGTERM/SIGINT, 1 on failure. An expected failure is one
 * line on stderr (`verk: cannot connect to Redis at ...`); a defect is logged with its stack.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { CliOutput, Command } from "effect/cli"
import { presenter, report } from "./cli/errors.ts"
import { verk } from "./main.ts"
import { teardown } from "./WorkerProcess.ts"

verk.pipe(
  Command.run({ version: "0.1.0" }),
  Effect.catchCause(report),
  Effect.provide([NodeServices.layer, CliOutput.layerPresenter(presenter)]),
  (main) => NodeRuntime.runMain(main, { teardown, disableErrorReporting: true }),
)
