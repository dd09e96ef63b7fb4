/**
 * The `verk` command's subcommands by name, with the line `verk --help` shows for each, and which
 * one a command line names. No imports: the bin reads this before it loads anything, to restart
 * `verk run` with its V8 flags and to load only the subcommand it runs (main.ts).
 */

/** Each subcommand's one-line description (its module uses it too). */
export const Descriptions = {
  run: "Run a worker process (settings from REDIS_URL, VERK_QUEUES, ...)",
  enqueue: "Enqueue a job, or load jobs from a JSON-lines file (Redis from REDIS_URL)",
  stats: "Print counters, queues (size, latency, paused), sets and nodes (Redis from REDIS_URL)",
  jobs: "Retry, delete or kill jobs of the retry, schedule and dead sets (Redis from REDIS_URL)",
  queue: "Pause, resume or clear a queue (Redis from REDIS_URL)",
  periodic: "List, pause, resume or run periodic entries (Redis from REDIS_URL)",
  limits: "List the rate and concurrency limits in use, with their usage (Redis from REDIS_URL)",
  web: "Serve Verk Web, the dashboard (Redis from REDIS_URL, token from VERK_WEB_TOKEN)",
} as const

/** A subcommand's name. */
export type Name = keyof typeof Descriptions

/** The subcommands in the order `verk --help` lists them. */
export const Names = Object.keys(Descriptions) as ReadonlyArray<Name>

// The global flags (effect/cli's) that take a value as the next argument, when not given with `=`.
const GlobalFlagsWithValue = new Set(["--log-level", "--completions"])

/**
 * The subcommand `args` (the arguments after the script) name: the first argument that is neither
 * a flag nor a global flag's value, when it is a subcommand's name.
 */
export const subcommandOf = (args: ReadonlyArray<string>): Name | undefined => {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ""
    if (GlobalFlagsWithValue.has(arg)) i++
    else if (!arg.startsWith("-")) return Object.hasOwn(Descriptions, arg) ? (arg as Name) : undefined
  }
  return undefined
}

/**
 * `verk --help`, `verk --version` or `verk` alone: what they print needs the subcommands' names and
 * descriptions only, not their modules.
 */
export const needsNamesOnly = (args: ReadonlyArray<string>): boolean =>
  args.every((arg) => arg === "--help" || arg === "-h" || arg === "--version" || arg === "-v")
