/**
 * The `verk` command: run a worker process, enqueue jobs, print stats, act on jobs, queues and
 * periodic entries as the dashboard does, serve the dashboard. `bin.ts` runs it.
 *
 * A subcommand's module is loaded only when the command line names it: `verk run` does not load
 * the modules of `enqueue` or `web`, and `verk --help` loads none (it lists names and descriptions).
 */
import { Command } from "effect/cli"
import { Descriptions, type Name, Names, needsNamesOnly, subcommandOf } from "./cli/commands.ts"
import type { enqueue } from "./cli/enqueue.ts"
import type { jobs } from "./cli/jobs.ts"
import type { limits } from "./cli/limits.ts"
import type { periodic } from "./cli/periodic.ts"
import type { queue } from "./cli/queue.ts"
import type { run } from "./cli/run.ts"
import type { stats } from "./cli/stats.ts"
import type { web } from "./cli/web.ts"

type Subcommand =
  | typeof run
  | typeof enqueue
  | typeof stats
  | typeof jobs
  | typeof queue
  | typeof periodic
  | typeof limits
  | typeof web

const load: { readonly [K in Name]: () => Promise<Subcommand> } = {
  run: () => import("./cli/run.ts").then((module) => module.run),
  enqueue: () => import("./cli/enqueue.ts").then((module) => module.enqueue),
  stats: () => import("./cli/stats.ts").then((module) => module.stats),
  jobs: () => import("./cli/jobs.ts").then((module) => module.jobs),
  queue: () => import("./cli/queue.ts").then((module) => module.queue),
  periodic: () => import("./cli/periodic.ts").then((module) => module.periodic),
  limits: () => import("./cli/limits.ts").then((module) => module.limits),
  web: () => import("./cli/web.ts").then((module) => module.web),
}

/** A subcommand as `verk --help` lists it: its name and description, nothing to run. */
const listed = (name: Name) => Command.make(name).pipe(Command.withDescription(Descriptions[name]))

/**
 * The `verk` command for `args` (the arguments after the script): with the one subcommand they
 * name, loaded; with every subcommand listed only for `verk --help`, `--version` or no argument;
 * otherwise (an unknown subcommand, `--completions`, `--wizard`) with every subcommand loaded.
 */
export const verk = async (args: ReadonlyArray<string>) => {
  const named = subcommandOf(args)
  const subcommands = needsNamesOnly(args)
    ? Names.map(listed)
    : await Promise.all((named === undefined ? Names : [named]).map((name) => load[name]()))
  return Command.make("verk").pipe(
    Command.withDescription("Verk for Effect: Sidekiq-compatible jobs on Redis"),
    Command.withSubcommands(subcommands),
  )
}
