/**
 * A throwaway `redis-server` for tests: spawned from PATH on a free port of 127.0.0.1, in its own
 * temporary directory, and stopped by the test run that started it. It never touches a Redis it
 * did not start.
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

const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

/** One PING on a fresh connection that does not retry; resolves whether the server answered. */
const pingOnce = async (port: number): Promise<boolean> => {
  const client = new Redis({
    host: "127.0.0.1",
    port,
    lazyConnect: true,
    connectTimeout: 1_000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  // A refused connection is expected while the server starts: keep it from surfacing as unhandled.
  client.on("error", () => {})
  try {
    await client.connect()
    return (await client.ping()) === "PONG"
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", () => resolve()))

const spawnOnce = async (options: RedisServerOptions): Promise<RedisServer> => {
  const port = options.port ?? (await freePort())
  const ownDir = options.dir === undefined
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "verk-redis-")))
  const persistence = options.appendonly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    ...persistence,
    "--daemonize",
    "no",
    "--loglevel",
    "warning",
  ]

  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()))
  let spawnError: NodeJS.ErrnoException | undefined
  child.once("error", (error: NodeJS.ErrnoException) => (spawnError = error))

  const cleanup = async () => {
    if (ownDir) await rm(dir, { recursive: true, force: true })
  }

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && spawnError === undefined) {
      const done = exited(child)
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), StopGraceMillis)
      await done
      clearTimeout(timer)
    }
    await cleanup()
  }

  const deadline = Date.now() + StartTimeoutMillis
  while (true) {
    if (spawnError !== undefined) {
      await cleanup()
      throw spawnError.code === "ENOENT"
        ? new Error(
            "redis-server is not on PATH: install Redis (e.g. `apt-get install redis-server`) " +
              "or set REDIS_URL to a Redis the tests may use",
          )
        : spawnError
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      await cleanup()
      throw new Error(
        `redis-server exited (${child.exitCode ?? child.signalCode}) before answering PING on port ${port}:\n${output}`,
      )
    }
    if (await pingOnce(port)) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`redis-server did not answer PING on port ${port} within ${StartTimeoutMillis} ms:\n${output}`)
    }
    await sleep(25)
  }

  return { url: `redis://127.0.0.1:${port}`, port, stop }
}

/**
 * Starts a `redis-server` and resolves once it answers PING. The free port is found before the
 * server binds it, so another process may take it in between: a start that fails is retried on a
 * new port a few times.
 */
export const startRedisServer = async (options: RedisServerOptions = {}): Promise<RedisServer> => {
  let lastError: unknown
  const attempts = options.port === undefined ? 3 : 20
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      return await spawnOnce(options)
    } catch (error) {
      lastError = error
      if (error instanceof Error && error.message.startsWith("redis-server is not on PATH")) throw error
      if (options.port !== undefined) await sleep(50)
    }
  }
  throw lastError
}
