/**
 * A throwaway Redis Sentinel group for tests: one primary, one replica (or more) and three sentinels
 * (`redis-server <conf> --sentinel`, quorum 2) on free ports of 127.0.0.1, each in its own temporary
 * directory. Timeouts are short so that a killed primary fails over within a few seconds. It never
 * touches a Redis it did not start.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import type { Address } from "./redisCluster.ts"
import {
  command,
  freezeReplicas as freezeProcesses,
  type LaunchedRedis,
  type LaunchOptions,
  launchRedis,
  type RedisProcess,
  replicationArgs,
  tryCommand,
  waitFor,
} from "./redisServer.ts"

export interface SentinelGroup {
  /** For ioredis: `new Redis({ sentinels, name: masterName })`. */
  readonly sentinels: ReadonlyArray<Address>
  readonly masterName: string
  /** The primary's port, as the first sentinel that answers reports it. */
  readonly primaryPort: () => Promise<number>
  /** Ports of the replicas connected to the current primary (its ROLE reply). */
  readonly replicaPorts: () => Promise<Array<number>>
  /**
   * Freezes (SIGSTOP) every replica of the current primary and closes their links on it, so it goes
   * on acknowledging writes they do not get; the returned function resumes them (SIGCONT). Keep the freeze well under
   * `down-after-milliseconds` (1 s), or the sentinels no longer count a frozen replica as a candidate.
   */
  readonly freezeReplicas: () => Promise<{ readonly frozenPorts: Array<number>; readonly resume: () => void }>
  /** kill -9 the current primary. */
  readonly killPrimary: () => Promise<{ killedPort: number }>
  /**
   * Pauses (SIGSTOP) the current primary: its connections stay open and it answers nothing until
   * `resume` (SIGCONT); then it still says it is the primary until the sentinels demote it.
   */
  readonly pausePrimary: () => Promise<{ readonly pausedPort: number; readonly resume: () => void }>
  /** A server's role (ROLE's first field), or undefined while it does not answer. */
  readonly role: (port: number) => Promise<string | undefined>
  /**
   * Waits until every live sentinel reports another master than `killedPort` (the same one) and
   * that node answers ROLE as master.
   */
  readonly waitForFailover: (
    killedPort: number,
    timeoutMillis?: number,
  ) => Promise<{ newPrimaryPort: number; millis: number }>
  /** Kills every process it started and removes their directories. */
  readonly stop: () => Promise<void>
}

export interface SentinelOptions {
  readonly masterName?: string
  /** Replicas of the primary (default 1). */
  readonly replicas?: number
  /** Extra redis-server arguments for the primary and the replicas (e.g. `--min-replicas-to-write 1`). */
  readonly serverArgs?: ReadonlyArray<string>
}

const Sentinels = 3
const Quorum = 2
const DownAfterMillis = 1_000
// Also bounds the wait for the promoted replica to report itself master, so not much smaller.
const FailoverTimeoutMillis = 5_000
const StartTimeoutMillis = 15_000
const WaitForFailoverMillis = 20_000

/** SENTINEL replies list a record as flat [field, value, field, value, ...]. */
const toRecord = (reply: unknown): Record<string, string> => {
  const record: Record<string, string> = {}
  if (!Array.isArray(reply)) return record
  for (let n = 0; n + 1 < reply.length; n += 2) record[String(reply[n])] = String(reply[n + 1])
  return record
}

const toRecords = (reply: unknown): Array<Record<string, string>> => (Array.isArray(reply) ? reply.map(toRecord) : [])

/** What one sentinel knows of the master, its replicas and its peers. */
const sentinelView = async (port: number, masterName: string) => {
  const [master, replicas, peers] = await Promise.all([
    tryCommand(port, "SENTINEL", "MASTER", masterName),
    tryCommand(port, "SENTINEL", "REPLICAS", masterName),
    tryCommand(port, "SENTINEL", "SENTINELS", masterName),
  ])
  return { master: toRecord(master), replicas: toRecords(replicas), peers: toRecords(peers) }
}

/** Starts the group and resolves once the replica is in sync and every sentinel knows all the others. */
export const startSentinelGroup = async (options: SentinelOptions = {}): Promise<SentinelGroup> => {
  const masterName = options.masterName ?? "verk-primary"
  const started: Array<LaunchedRedis> = []
  const killedAt = new Map<number, number>()

  const stop = async () => {
    await Promise.all(started.map((each) => each.remove()))
  }

  const start = async (kind: string, args: LaunchOptions["args"]) => {
    const node = await launchRedis({ name: `sentinel-${kind}`, args })
    started.push(node)
    return node
  }

  const sentinelProcesses: Array<RedisProcess> = []
  const liveSentinels = () => sentinelProcesses.filter((each) => each.alive()).map((each) => each.port)

  const describeGroup = async () => {
    const servers = await Promise.all(
      started
        .filter((each) => !sentinelProcesses.includes(each))
        .map(async (each) => {
          const info = await tryCommand(each.port, "INFO", "replication")
          const role = typeof info === "string" ? /role:(\w+)/.exec(info)?.[1] : undefined
          const link = typeof info === "string" ? /master_link_status:(\w+)/.exec(info)?.[1] : undefined
          return `  server ${each.port}: ${each.alive() ? "alive" : "dead"} role=${role ?? "?"} link=${link ?? "-"}`
        }),
    )
    const sentinels = await Promise.all(
      sentinelProcesses.map(async (each) => {
        const { master: m, replicas, peers } = await sentinelView(each.port, masterName)
        const r = replicas.map((x) => `${x.port}(${x.flags})`)
        return `  sentinel ${each.port}: master=${m.port ?? "?"}(${m.flags ?? "?"}) failover=${m["failover-state"] ?? "-"} replicas=[${r.join(" ")}] sentinels=${peers.length}`
      }),
    )
    return [...servers, ...sentinels].join("\n")
  }

  try {
    const extra = options.serverArgs ?? []
    const primary = await start("primary", (port, dir) => [...replicationArgs(port, dir), ...extra])
    const primaryPort = primary.port
    const replicas = await Promise.all(
      Array.from({ length: options.replicas ?? 1 }, () =>
        start("replica", (port, dir) => [
          ...replicationArgs(port, dir),
          ...extra,
          "--replicaof",
          "127.0.0.1",
          String(primaryPort),
        ]),
      ),
    )
    // In sync before the sentinels start: their first INFO of the primary then lists the replicas
    // (the next one would only come 10 s later).
    await waitFor(
      `replicas ${replicas.map((each) => each.port).join(",")} in sync with primary ${primaryPort}`,
      async () => {
        const infos = await Promise.all(replicas.map((each) => tryCommand(each.port, "INFO", "replication")))
        return infos.every((info) => typeof info === "string" && info.includes("master_link_status:up"))
          ? true
          : undefined
      },
      StartTimeoutMillis,
      describeGroup,
    )

    const startSentinel = () =>
      start("sentinel", async (port, dir) => {
        // A sentinel rewrites its configuration file, so each gets its own, writable one.
        const conf = join(dir, "sentinel.conf")
        await writeFile(
          conf,
          [
            `port ${port}`,
            "bind 127.0.0.1",
            `dir ${dir}`,
            `sentinel monitor ${masterName} 127.0.0.1 ${primaryPort} ${Quorum}`,
            `sentinel down-after-milliseconds ${masterName} ${DownAfterMillis}`,
            `sentinel failover-timeout ${masterName} ${FailoverTimeoutMillis}`,
            `sentinel parallel-syncs ${masterName} 1`,
            "",
          ].join("\n"),
        )
        return [conf, "--sentinel", "--daemonize", "no", "--loglevel", "warning"]
      })
    sentinelProcesses.push(...(await Promise.all(Array.from({ length: Sentinels }, startSentinel))))

    // A failover can start right away only once each sentinel knows the replica and both peers.
    await waitFor(
      "every sentinel to see the master, the replica and the other sentinels",
      async () => {
        const ready = await Promise.all(
          sentinelProcesses.map(async (each) => {
            const { master, replicas: seen, peers } = await sentinelView(each.port, masterName)
            const replicasSeen = replicas.every((replica) =>
              seen.some(
                (r) => Number(r.port) === replica.port && r.flags === "slave" && r["master-link-status"] === "ok",
              ),
            )
            return master.flags === "master" && replicasSeen && peers.length === Sentinels - 1
          }),
        )
        return ready.every(Boolean) ? true : undefined
      },
      StartTimeoutMillis,
      describeGroup,
    )
  } catch (error) {
    await stop()
    throw error
  }

  const primaryPort = async () => {
    for (const port of liveSentinels()) {
      const reply = await tryCommand(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName)
      if (Array.isArray(reply) && reply.length === 2) return Number(reply[1])
    }
    throw new Error(`no sentinel answers GET-MASTER-ADDR-BY-NAME ${masterName}`)
  }

  const replicaPorts = async () => {
    const role = await command(await primaryPort(), "ROLE")
    const replicas = Array.isArray(role) && Array.isArray(role[2]) ? (role[2] as Array<unknown>) : []
    return replicas.map((entry) => (Array.isArray(entry) ? Number(entry[1]) : Number.NaN))
  }

  const freezeReplicas = async () => {
    const ports = new Set(await replicaPorts())
    const frozen = started.filter((each) => ports.has(each.port) && each.alive() && !sentinelProcesses.includes(each))
    if (frozen.length === 0) throw new Error("the primary has no replica started here to freeze")
    return freezeProcesses(frozen, await primaryPort())
  }

  const killPrimary = async () => {
    const port = await primaryPort()
    const victim = started.find((each) => each.port === port)
    if (victim === undefined) throw new Error(`the primary (port ${port}) was not started here`)
    killedAt.set(port, Date.now())
    await victim.kill()
    return { killedPort: port }
  }

  const pausePrimary = async () => {
    const port = await primaryPort()
    const victim = started.find((each) => each.port === port)
    if (victim === undefined) throw new Error(`the primary (port ${port}) was not started here`)
    killedAt.set(port, Date.now())
    victim.signal("SIGSTOP")
    return { pausedPort: port, resume: () => victim.signal("SIGCONT") }
  }

  const role = async (port: number) => {
    const reply = await tryCommand(port, "ROLE")
    return Array.isArray(reply) ? String(reply[0]) : undefined
  }

  const waitForFailover = async (killedPort: number, timeoutMillis = WaitForFailoverMillis) => {
    const since = killedAt.get(killedPort) ?? Date.now()
    const newPrimaryPort = await waitFor(
      `the sentinels to promote a replica of ${killedPort}`,
      async () => {
        const replies = await Promise.all(
          liveSentinels().map((port) => tryCommand(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName)),
        )
        const ports = new Set(replies.map((reply) => (Array.isArray(reply) ? Number(reply[1]) : undefined)))
        const [port] = ports
        if (ports.size !== 1 || port === undefined || port === killedPort) return undefined
        const role = await tryCommand(port, "ROLE")
        return Array.isArray(role) && role[0] === "master" ? port : undefined
      },
      timeoutMillis,
      describeGroup,
    )
    return { newPrimaryPort, millis: Date.now() - since }
  }

  return {
    sentinels: sentinelProcesses.map((each) => ({ host: "127.0.0.1", port: each.port }) as const),
    masterName,
    primaryPort,
    replicaPorts,
    freezeReplicas,
    killPrimary,
    pausePrimary,
    role,
    waitForFailover,
    stop,
  }
}
