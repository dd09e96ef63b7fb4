/**
 * The `verk` command as a user runs it: a real process (`node --conditions=@verk/source
 * packages/node/src/bin.ts ...`, Node 24), its output and its exit code.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { resolve } from "node:path"
import { onTestFailed, onTestFinished } from "vitest"

export const root = resolve(import.meta.dirname, "../..")
export const nodeBinary = resolve(root, "node_modules/.bin/node")
export const bin = resolve(root, "packages/node/src/bin.ts")
export const fixture = (name: string): string => resolve(import.meta.dirname, "fixtures", name)

/** The environment without any REDIS_URL, VERK_* or npm_* variable of the test run, plus `env`. */
export const cleanEnv = (env: Readonly<Record<string, string>> = {}): Record<string, string> => {
  const clean: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("VERK_") && !key.startsWith("npm_") && key !== "REDIS_URL") {
      clean[key] = value
    }
  }
  return { ...clean, ...env }
}

/**
 * A `verk` process's environment in a test: the Redis at `url`, the namespace given, polling and
 * heartbeats quick enough for a test to see them, and a short shutdown.
 */
export const quickEnv = (url: string, namespace: string) => ({
  REDIS_URL: url,
  VERK_NAMESPACE: namespace,
  VERK_POLL_INTERVAL: "200ms",
  VERK_HEARTBEAT_INTERVAL: "500ms",
  VERK_SHUTDOWN_TIMEOUT: "2s",
})

export interface Process {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** Resolves once stdout or stderr contains `text`; rejects if the process exits first or time runs out. */
  readonly waitFor: (text: string | RegExp, timeoutMillis?: number) => Promise<void>
}

/** Spawns `command args` in the repository root; killed at the end of the test, output shown if it fails. */
export const start = (
  command: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
  input?: string,
): Process => {
  const stdin = input === undefined ? "ignore" : "pipe"
  const child = spawn(command, args, { cwd: root, env: cleanEnv(env), stdio: [stdin, "pipe", "pipe"] })
  if (input !== undefined) child.stdin?.end(input)
  let stdout = ""
  let stderr = ""
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  // `close`, not `exit`: the output is complete, also when a grandchild held the pipes.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("close", (code, signal) => done({ code, signal })),
  )
  let ended = false
  void exited.then(() => (ended = true))
  const output = () => `${stdout}${stderr}`
  const waitFor = async (text: string | RegExp, timeoutMillis = 15_000) => {
    const deadline = Date.now() + timeoutMillis
    const found = () => (typeof text === "string" ? output().includes(text) : text.test(output()))
    while (!found()) {
      if (ended) throw new Error(`exited before printing ${String(text)}:\n${output()}`)
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(text)}:\n${output()}`)
      await new Promise((done) => setTimeout(done, 20))
    }
  }
  onTestFailed(() => console.log(`output of ${command} ${args.join(" ")}:\n${output()}`))
  onTestFinished(async () => {
    if (!ended) {
      child.kill("SIGKILL")
      await exited
    }
  })
  return { child, stdout: () => stdout, stderr: () => stderr, exited, waitFor }
}

/** `verk <args>` with `env` (and `input` on its stdin), run to its end. */
export const verk = async (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}, input?: string) => {
  const process = start(nodeBinary, ["--conditions=@verk/source", bin, ...args], env, input)
  const { code } = await process.exited
  return { code, stdout: process.stdout(), stderr: process.stderr() }
}

/** `verk <args>` left running (a worker process). */
export const startVerk = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}): Process =>
  start(nodeBinary, ["--conditions=@verk/source", bin, ...args], env)
