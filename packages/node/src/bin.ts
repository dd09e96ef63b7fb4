#!/usr/bin/env node
/**
 * The `verk` binary: runs the command of `main.ts` with the process's arguments, then exits: 0 on
 * success or after a graceful shutdown on SIGTERM/SIGINT, 1 on failure. An expected failure is one
 * line on stderr (`verk: cannot connect to Redis at ...`); a defect is logged with its stack.
 */
import * as Module from "node:module"
import { subcommandOf } from "./cli/commands.ts"
import { applyNodeFlags } from "./NodeFlags.ts"
import { holdSignals } from "./StartupSignals.ts"

const args = process.argv.slice(2)

// `verk run` is a worker process: it restarts with its V8 flags before loading anything else, and
// a SIGTERM or SIGINT while it starts waits for the runtime, which undoes the start and exits 0.
if (subcommandOf(args) === "run") {
  applyNodeFlags()
  holdSignals()
}

// V8's compiled code for the modules loaded next is kept on disk (Node's compile cache, in the OS's
// temporary directory) and reused by the next start: about a third of the CPU a start takes.
// NODE_DISABLE_COMPILE_CACHE=1 turns it off; where the directory cannot be written, nothing happens.
Module.enableCompileCache?.()

// Modules by path, not the packages' indexes: @effect/platform-node's index alone loads its HTTP
// server, clients and sockets (~30 MiB of RSS in every worker process), effect's every module.
// The command comes with only the subcommand the arguments name (main.ts), loaded alongside.
const [NodeRuntime, NodeServices, Effect, { CliOutput, Command }, { presenter, report }, command, { teardown }] =
  await Promise.all([
    import("@effect/platform-node/NodeRuntime"),
    import("@effect/platform-node/NodeServices"),
    import("effect/Effect"),
    import("effect/cli"),
    import("./cli/errors.ts"),
    import("./main.ts").then(({ verk }) => verk(args)),
    import("./ProcessExit.ts"),
  ])

command.pipe(
  Command.run({ version: "0.1.0" }),
  Effect.catchCause(report),
  Effect.provide([NodeServices.layer, CliOutput.layerPresenter(presenter)]),
  (main) => NodeRuntime.runMain(main, { teardown, disableErrorReporting: true }),
)
