#!/usr/bin/env node
/** The `verk` binary: runs the command of `main.ts` with the process's arguments, then exits. */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { verk } from "./main.ts"
import { teardown } from "./WorkerProcess.ts"

verk.pipe(Command.run({ version: "0.1.0" }), Effect.provide(NodeServices.layer), (main) =>
  NodeRuntime.runMain(main, { teardown }),
)
