/**
 * Throwaway `redis-server` processes for tests: spawned from PATH on a free port of 127.0.0.1, each
 * in its own temporary directory, and stopped by the test run that started them. They never touch a
 * Redis they did not start. `startRedisServer` is one plain server; the primitives below it (spawn,
 * one command, wait for, freeze replicas) serve the Cluster and Sentinel harnesses too.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis } from "ioredis"

export interface RedisServerOptions {
  /** Persist with an append-only file, fsync'ed on every write (for crash tests). */
  readonly appendonly?: boolean
  /** The working directory (AOF and RDB files); a fresh temporary directory when absent. */
  readonly dir?: string
  /**
   * A port of the caller's (to restart a server where its clients reconnect); a free one when
   * absent. A given port may still be held by the server just stopped, so starting is retried.
   */
  readonly port?: number
}

export interface RedisServer {
  readonly url: string
  readonly port: number
  /** SIGTERM, then wait for the process to exit (SIGKILL after a grace period). */
  readonly stop: () => Promise<void>
}

const StartTimeoutMillis = 10_000
const StopGraceMillis = 5_000
const NotOnPath = "redis-server is not on PATH"

export const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

/** A TCP port that was free a moment ago: listen on port 0, read the port, close. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") {
        server.close()
        reject(new Error("could not read the port of a listening socket"))
        return
      }
      const { port } = address
      server.close((error) => (error ? reject(error) : resolve(port)))
    })
  })

/** Sends one command on a fresh connection that never retries; throws on any failure. */
export const command = async (port: number, name: string, ...args: Array<string | number>): Promise<unknown> => {
  const client = new Redis({
    host: "127.0.0.1",
    port,
    lazyConnect: true,
    connectTimeout: 1_000,
    commandTimeout: 2_000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  // A refused connection is expected while a server starts or after it is killed.
  client.on("error", () => {})
  try {
    await client.connect()
    return await client.call(name, ...args)
  } finally {
    client.disconnect()
  }
}

/** The command's reply, or undefined when the server does not answer. */
export const tryCommand = async (port: number, name: string, ...args: Array<string | number>) => {
  try {
    return await command(port, name, ...args)
  } catch {
    return undefined
  }
}

/** Polls `check` until it returns a value; on timeout throws with `describe()`'s account of the state. */
export const waitFor = async <A>(
  what: string,
  check: () => Promise<A | undefined>,
  timeoutMillis: number,
  describe: () => Promise<string>,
): Promise<A> => {
  const deadline = Date.now() + timeoutMillis
  while (true) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMillis} ms waiting for ${what}:\n${await describe()}`)
    }
    await sleep(50)
  }
}

/** The options every server here runs with: loopback, its own directory, no RDB snapshots, quiet. */
export const serverArgs = (port: number, dir: string): Array<string> => [
  ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""],
  ...["--daemonize", "no", "--loglevel", "warning"],
]

/** A primary or replica (Cluster, Sentinel): no persistence, and a full sync that starts at once. */
export const replicationArgs = (port: number, dir: string) => [
  ...serverArgs(port, dir),
  "--appendonly",
  "no",
  // The default waits 5 s for more replicas before a full sync starts.
  ...["--repl-diskless-sync-delay", "0"],
]

/** A redis-server (or sentinel) process started here. */
export interface RedisProcess {
  readonly port: number
  readonly dir: string
  readonly alive: () => boolean
  /** Everything it printed (for error messages). */
  readonly output: () => string
  /** SIGKILL and wait for the exit. */
  readonly kill: () => Promise<void>
  /** SIGTERM and wait for the exit (SIGKILL after a grace period). */
  readonly stop: () => Promise<void>
  /** Sends `signal` while it runs, e.g. SIGSTOP to freeze it (a lagging replica) and SIGCONT to resume it. */
  readonly signal: (signal: NodeJS.Signals) => void
}

// Children still running when the test process exits (a crash, a timeout) are killed, so a failed
// run leaves no orphan redis-server behind.
const running = new Set<ChildProcess>()
let exitHookInstalled = false
const track = (child: ChildProcess) => {
  running.add(child)
  child.once("exit", () => running.delete(child))
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on("exit", () => {
      for (const each of running) each.kill("SIGKILL")
    })
  }
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", () => resolve()))

/**
 * Spawns `redis-server <args>` in `dir` and resolves once it answers PING on `port`; rejects (and
 * kills it) if it exits first or does not answer in time.
 */
export const spawnRedis = async (port: number, dir: string, args: ReadonlyArray<string>): Promise<RedisProcess> => {
  const child = spawn("redis-server", [...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })
  track(child)
  let output = ""
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()))
  let spawnError: NodeJS.ErrnoException | undefined
  child.once("error", (error: NodeJS.ErrnoException) => (spawnError = error))
  const alive = () => spawnError === undefined && child.exitCode === null && child.signalCode === null
  const end = async (signal: NodeJS.Signals) => {
    if (!alive()) return
    const done = exited(child)
    child.kill(signal)
    const timer = setTimeout(() => child.kill("SIGKILL"), StopGraceMillis)
    await done
    clearTimeout(timer)
  }
  const kill = () => end("SIGKILL")
  const deadline = Date.now() + StartTimeoutMillis
  while (true) {
    if (spawnError !== undefined) {
      throw spawnError.code === "ENOENT"
        ? new Error(
            `${NotOnPath}: install Redis (e.g. \`apt-get install redis-server\`) ` +
              "or, for the single-server tests, set REDIS_URL to a Redis the tests may use",
          )
        : spawnError
    }
    if (!alive()) {
      throw new Error(
        `redis-server exited (${child.exitCode ?? child.signalCode}) before answering PING on port ${port}:\n${output}`,
      )
    }
    if ((await tryCommand(port, "PING")) === "PONG") break
    if (Date.now() > deadline) {
      await kill()
      throw new Error(`redis-server did not answer PING on port ${port} within ${StartTimeoutMillis} ms:\n${output}`)
    }
    await sleep(20)
  }
  const signal = (name: NodeJS.Signals) => {
    if (alive()) child.kill(name)
  }
  return { port, dir, alive, output: () => output, kill, stop: () => end("SIGTERM"), signal }
}

export interface LaunchOptions {
  /** Names the temporary directory (`verk-<name>-…`) made when `dir` is absent. */
  readonly name: string
  /** The arguments after `redis-server`, for the port and directory chosen. */
  readonly args: (port: number, dir: string) => ReadonlyArray<string> | Promise<ReadonlyArray<string>>
  /** A directory of the caller's, kept when the process is removed. */
  readonly dir?: string
  /** Picks the port of each attempt; a free one when absent. */
  readonly port?: () => Promise<number>
  readonly attempts?: number
  /** The pause before another attempt (a given port may still be held by a server just stopped). */
  readonly retryMillis?: number
}

export interface LaunchedRedis extends RedisProcess {
  /** SIGKILL it if still running, then delete the temporary directory made for it. */
  readonly remove: () => Promise<void>
}

/**
 * Spawns a redis-server on a port and in a directory of its own. The free port is found before the
 * server binds it, so another process may take it in between: a start that fails is retried.
 */
export const launchRedis = async (options: LaunchOptions): Promise<LaunchedRedis> => {
  const choosePort = options.port ?? freePort
  let lastError: unknown
  for (let attempt = 0; attempt < (options.attempts ?? 3); attempt++) {
    if (attempt > 0 && options.retryMillis !== undefined) await sleep(options.retryMillis)
    const port = await choosePort()
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), `verk-${options.name}-`)))
    const removeDir = () => (options.dir === undefined ? rm(dir, { recursive: true, force: true }) : Promise.resolve())
    try {
      const launched = await spawnRedis(port, dir, await options.args(port, dir))
      return {
        ...launched,
        remove: async () => {
          await launched.kill()
          await removeDir()
        },
      }
    } catch (error) {
      lastError = error
      await removeDir()
      if (error instanceof Error && error.message.startsWith(NotOnPath)) throw error
    }
  }
  throw lastError
}

/**
 * Freezes (SIGSTOP) `replicas` and closes their links on the primary, so it goes on acknowledging
 * writes they do not get; the returned function resumes them (SIGCONT).
 */
export const freezeReplicas = async (replicas: ReadonlyArray<RedisProcess>, primaryPort: number) => {
  for (const each of replicas) each.signal("SIGSTOP")
  // A frozen replica still gets what fits in its socket buffers (megabytes on loopback) and applies it
  // once resumed: closing the links on the primary makes everything it acknowledges from now on
  // miss the replicas (which, frozen, cannot connect again).
  await command(primaryPort, "CLIENT", "KILL", "TYPE", "replica")
  return {
    frozenPorts: replicas.map((each) => each.port),
    resume: () => {
      for (const each of replicas) each.signal("SIGCONT")
    },
  }
}

/** Starts a `redis-server` and resolves once it answers PING. */
export const startRedisServer = async (options: RedisServerOptions = {}): Promise<RedisServer> => {
  const { port, dir } = options
  const server = await launchRedis({
    name: "redis",
    args: (port, dir) => [
      ...serverArgs(port, dir),
      ...(options.appendonly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]),
    ],
    ...(dir === undefined ? {} : { dir }),
    ...(port === undefined ? {} : { port: async () => port, attempts: 20, retryMillis: 50 }),
  })
  return {
    url: `redis://127.0.0.1:${server.port}`,
    port: server.port,
    stop: async () => {
      await server.stop()
      await server.remove()
    },
  }
}
