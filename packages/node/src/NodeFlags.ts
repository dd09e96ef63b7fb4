/**
 * The V8 flags of a worker process: `verk run` restarts itself with them (V8 sizes its heap at
 * start only); a program calling `NodeProcess.run` is started with them. Node built-ins alone,
 * so that the bin's first image loads next to nothing before it is replaced.
 */

/**
 * V8 flags for a worker process. Every job leaves short-lived garbage; a 16 MiB young generation
 * holds a busy drain's worth between scavenges, where Node's default grows it further: in a
 * drain of no-op jobs this took the CPU per job from ~35 to ~26 µs and the RSS from ~250 to
 * ~175 MiB (bench/profileDrain.ts, STORE=memory).
 */
export const NodeFlags: ReadonlyArray<string> = ["--max-semi-space-size=16"]

/**
 * Restarts this process with `NodeFlags` unless it has them: the same pid, arguments and
 * environment, through `process.execve` (V8 reads heap sizes at start only). Call it first thing,
 * before any connection or timer exists. Nothing happens where `execve` is missing (Windows), or
 * when the young generation was sized already, in the flags or NODE_OPTIONS (how to opt out).
 */
export const applyNodeFlags = (): void => {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" ")
  if (typeof process.execve !== "function" || given.includes("semi-space")) return
  process.execve(process.execPath, [process.execPath, ...NodeFlags, ...process.execArgv, ...process.argv.slice(1)])
}
