/**
 * How the `verk` process exits: a signal ends it normally (a graceful shutdown is a success, so
 * exit 0), anything else as `runMain` does by default. Its own module, so that the bin has it
 * without loading the worker process's modules (Redis, the runtime); `NodeProcess` re-exports it.
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"

/** Exit 0 after an interruption (SIGTERM, SIGINT), else `Runtime.defaultTeardown`. */
export const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
