/**
 * A throwaway Redis Cluster for tests: `redis-server` processes on free ports of 127.0.0.1, each in
 * its own temporary directory, joined with CLUSTER MEET / ADDSLOTSRANGE / REPLICATE (faster and
 * quieter than `redis-cli --cluster create`, which sleeps between its steps). Node timeouts are short
 * so that a killed primary fails over within a few seconds. It never touches a Redis it did not start.
 */
import { createServer } from "node:net"
import {
  command,
  freePort,
  freezeReplicas,
  type LaunchedRedis,
  launchRedis,
  replicationArgs,
  tryCommand,
  waitFor,
} from "./redisServer.ts"

export interface Address {
  readonly host: "127.0.0.1"
  readonly port: number
}

export interface ClusterPrimary {
  readonly port: number
  readonly id: string
  /** Inclusive slot ranges. */
  readonly slots: ReadonlyArray<readonly [number, number]>
}

export interface RedisCluster {
  /** Startup nodes for `new Cluster(nodes)`: every node started, primaries first. */
  readonly nodes: ReadonlyArray<Address>
  /** The masters that own slots, as a live node sees them now. */
  readonly primaries: () => Promise<Array<ClusterPrimary>>
  /** kill -9 the primary that owns the slot of `key`. */
  readonly killPrimaryOf: (key: string) => Promise<{ killedPort: number }>
  /** Waits until a replica owns the killed primary's slots and every survivor says cluster_state:ok. */
  readonly waitForFailover: (
    killedPort: number,
    timeoutMillis?: number,
  ) => Promise<{ newPrimaryPort: number; millis: number }>
  /**
   * Freezes (SIGSTOP) every replica of the primary that owns the slot of `key` and closes their links
   * on it, so it goes on acknowledging writes they do not get; the returned function resumes them
   * (SIGCONT).
   */
  readonly freezeReplicasOf: (
    key: string,
  ) => Promise<{ readonly frozenPorts: Array<number>; readonly resume: () => void }>
  /**
   * Starts a live migration of the slot of `key` from its primary to another one (`to`, or the next
   * primary): `CLUSTER SETSLOT IMPORTING` on the target, `MIGRATING` on the source. The keys move
   * only when asked (`moveKeys`), and the migration ends with `finish` (`SETSLOT NODE` on every
   * primary, the target first).
   */
  readonly startMigration: (key: string, to?: number) => Promise<SlotMigration>
  /**
   * A graceful `CLUSTER FAILOVER` on a replica of the primary of `key`'s slot; resolves once that
   * replica is the primary every node agrees on, and cluster_state is ok everywhere.
   */
  readonly failOverGracefully: (key: string) => Promise<{ readonly oldPort: number; readonly newPort: number }>
  /** Kills every process it started and removes their directories. */
  readonly stop: () => Promise<void>
}

/** A slot being migrated (see `RedisCluster.startMigration`). */
export interface SlotMigration {
  readonly slot: number
  readonly fromPort: number
  readonly toPort: number
  /** Moves up to `count` of the slot's keys still on the source (one MIGRATE ... KEYS); returns how many. */
  readonly moveKeys: (count: number) => Promise<number>
  /** Moves the keys left, then gives the slot to the target on every primary. */
  readonly finish: () => Promise<void>
}

export interface ClusterOptions {
  readonly primaries?: number
  readonly replicasPerPrimary?: number
}

const Slots = 16_384
const NodeTimeoutMillis = 1_000
const StartTimeoutMillis = 15_000
const FailoverTimeoutMillis = 20_000
/** Longer than Redis's own limit for a manual failover (CLUSTER_MF_TIMEOUT, 5 s). */
const ManualFailoverMillis = 7_000

const canListen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once("error", () => resolve(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
  })

/** A free port whose cluster bus port (+10000) is free too, and clashes with none in `taken`. */
const freeClusterPort = async (taken: Set<number>): Promise<number> => {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await freePort()
    const bus = port + 10_000
    if (bus > 65_535 || taken.has(port) || taken.has(bus)) continue
    // Re-checked after the await: nodes choose their ports concurrently.
    if ((await canListen(bus)) && !taken.has(port) && !taken.has(bus)) {
      taken.add(port)
      taken.add(bus)
      return port
    }
  }
  throw new Error("found no free port whose cluster bus port (+10000) is free too")
}

// ---------------------------------------------------------------------------------------------
// Cluster
// ---------------------------------------------------------------------------------------------

interface NodeLine {
  readonly id: string
  readonly port: number
  readonly flags: ReadonlyArray<string>
  readonly masterId: string | undefined
  readonly slots: ReadonlyArray<readonly [number, number]>
}

/** Parses CLUSTER NODES (`<id> <ip:port@cport[,hostname]> <flags> <master> ... <slots>`). */
const parseNodes = (text: string): Array<NodeLine> =>
  text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [id = "", address = "", flags = "", master = "-", , , , , ...slotFields] = line.trim().split(" ")
      const hostPort = address.split("@")[0] ?? ""
      const slots = slotFields
        .filter((field) => !field.startsWith("[")) // importing/migrating markers
        .map((field): readonly [number, number] => {
          const [from = "", to = from] = field.split("-")
          return [Number(from), Number(to)]
        })
      return {
        id,
        port: Number(hostPort.slice(hostPort.lastIndexOf(":") + 1)),
        flags: flags.split(","),
        masterId: master === "-" ? undefined : master,
        slots,
      }
    })

const clusterNodes = async (port: number) => {
  const reply = await tryCommand(port, "CLUSTER", "NODES")
  return typeof reply === "string" ? parseNodes(reply) : undefined
}

const clusterState = async (port: number) => {
  const reply = await tryCommand(port, "CLUSTER", "INFO")
  return typeof reply === "string" ? /cluster_state:(\w+)/.exec(reply)?.[1] : undefined
}

const linkStatus = async (port: number) => {
  const reply = await tryCommand(port, "INFO", "replication")
  return typeof reply === "string" ? /master_link_status:(\w+)/.exec(reply)?.[1] : undefined
}

const isFailed = (line: NodeLine) => line.flags.includes("fail") || line.flags.includes("fail?")

/** Starts a cluster and resolves once every node says cluster_state:ok and every replica is in sync. */
export const startCluster = async (options: ClusterOptions = {}): Promise<RedisCluster> => {
  const primaryCount = options.primaries ?? 3
  const replicasPerPrimary = options.replicasPerPrimary ?? 1
  const total = primaryCount * (1 + replicasPerPrimary)
  if (primaryCount < 1) throw new Error("a cluster needs at least one primary")

  /** In start order: primaries first, then replicas. */
  let processes: Array<LaunchedRedis> = []
  /** Every process started, for `stop` even when the start fails half way. */
  const started: Array<LaunchedRedis> = []
  const killedAt = new Map<number, number>()
  let stopped = false

  const stop = async () => {
    stopped = true
    await Promise.all(started.map((each) => each.remove()))
  }

  const startNode = async (taken: Set<number>) => {
    const node = await launchRedis({
      name: "cluster",
      port: () => freeClusterPort(taken),
      args: (port, dir) => [
        ...replicationArgs(port, dir),
        ...["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"],
        ...["--cluster-node-timeout", String(NodeTimeoutMillis)],
        // A replica may always take over, however long ago it last heard from its primary.
        ...["--cluster-replica-validity-factor", "0"],
      ],
    })
    started.push(node)
    return node
  }

  const livePorts = () => processes.filter((each) => each.alive()).map((each) => each.port)

  const describeNodes = async (ports: ReadonlyArray<number>) => {
    const lines = await Promise.all(
      ports.map(async (port) => {
        const [state, link, nodes] = await Promise.all([clusterState(port), linkStatus(port), clusterNodes(port)])
        const view = (nodes ?? [])
          .map(
            (n) =>
              `    ${n.port} ${n.flags.join(",")} ${n.masterId === undefined ? "" : `of ${n.masterId.slice(0, 8)} `}${n.id.slice(0, 8)} slots=${n.slots.map(([a, b]) => `${a}-${b}`).join(",")}`,
          )
          .join("\n")
        return `  node ${port}: cluster_state=${state ?? "?"} master_link_status=${link ?? "-"}\n${view}`
      }),
    )
    return lines.join("\n")
  }

  try {
    const taken = new Set<number>()
    processes = await Promise.all(Array.from({ length: total }, () => startNode(taken)))
    const ports = processes.map((each) => each.port)
    const primaryPorts = ports.slice(0, primaryCount)
    const replicaPorts = ports.slice(primaryCount)

    const ids = await Promise.all(ports.map(async (port) => String(await command(port, "CLUSTER", "MYID"))))
    // Distinct epochs before MEET (as redis-cli does), so no epoch-collision round is needed.
    await Promise.all(ports.map((port, n) => command(port, "CLUSTER", "SET-CONFIG-EPOCH", n + 1)))
    await Promise.all(
      primaryPorts.map((port, n) => {
        const from = Math.floor((n * Slots) / primaryCount)
        const to = Math.floor(((n + 1) * Slots) / primaryCount) - 1
        return command(port, "CLUSTER", "ADDSLOTSRANGE", from, to)
      }),
    )
    const first = ports[0]!
    await Promise.all(ports.slice(1).map((port) => command(first, "CLUSTER", "MEET", "127.0.0.1", port)))
    await waitFor(
      "every node to know every other node",
      async () => {
        const views = await Promise.all(ports.map(clusterNodes))
        const complete = views.every(
          (view) =>
            view !== undefined &&
            view.length === total &&
            view.every((n) => !n.flags.includes("handshake") && !n.flags.includes("noaddr")),
        )
        return complete ? true : undefined
      },
      StartTimeoutMillis,
      () => describeNodes(ports),
    )

    // Replica n follows primary n % primaryCount.
    const masterOf = new Map(replicaPorts.map((port, n) => [port, ids[n % primaryCount]!] as const))
    await Promise.all(replicaPorts.map((port) => command(port, "CLUSTER", "REPLICATE", masterOf.get(port)!)))

    await waitFor(
      "cluster_state:ok on every node, every replica in sync and known as such by every node",
      async () => {
        const [states, links, views] = await Promise.all([
          Promise.all(ports.map(clusterState)),
          Promise.all(replicaPorts.map(linkStatus)),
          Promise.all(ports.map(clusterNodes)),
        ])
        const replicasKnown = views.every(
          (view) =>
            view !== undefined &&
            replicaPorts.every((port) => {
              const line = view.find((n) => n.port === port)
              return line?.flags.includes("slave") && line.masterId === masterOf.get(port)
            }),
        )
        const ok = states.every((state) => state === "ok") && links.every((link) => link === "up") && replicasKnown
        return ok ? true : undefined
      },
      StartTimeoutMillis,
      () => describeNodes(ports),
    )
  } catch (error) {
    await stop()
    throw error
  }

  const primaries = async (): Promise<Array<ClusterPrimary>> => {
    for (const port of livePorts()) {
      const view = await clusterNodes(port)
      if (view === undefined) continue
      return view
        .filter((n) => n.flags.includes("master") && !isFailed(n) && n.slots.length > 0)
        .map(({ port, id, slots }) => ({ port, id, slots }))
    }
    throw new Error("no cluster node answers CLUSTER NODES")
  }

  const killPrimaryOf = async (key: string) => {
    if (stopped) throw new Error("the cluster is stopped")
    const slot = Number(await command(livePorts()[0]!, "CLUSTER", "KEYSLOT", key))
    const owner = (await primaries()).find((p) => p.slots.some(([from, to]) => slot >= from && slot <= to))
    if (owner === undefined) throw new Error(`no primary owns slot ${slot} of key ${key}`)
    const victim = processes.find((each) => each.port === owner.port)
    if (victim === undefined) throw new Error(`the owner of slot ${slot} (port ${owner.port}) was not started here`)
    killedAt.set(owner.port, Date.now())
    await victim.kill()
    return { killedPort: owner.port }
  }

  const freezeReplicasOf = async (key: string) => {
    if (stopped) throw new Error("the cluster is stopped")
    const port = livePorts()[0]!
    const slot = Number(await command(port, "CLUSTER", "KEYSLOT", key))
    const view = (await clusterNodes(port)) ?? []
    const owner = view.find(
      (n) => n.flags.includes("master") && n.slots.some(([from, to]) => slot >= from && slot <= to),
    )
    if (owner === undefined) throw new Error(`no primary owns slot ${slot} of key ${key}`)
    const replicaPorts = new Set(view.filter((n) => n.masterId === owner.id && !isFailed(n)).map((n) => n.port))
    const frozen = processes.filter((each) => replicaPorts.has(each.port) && each.alive())
    if (frozen.length === 0) throw new Error(`the primary on port ${owner.port} has no live replica to freeze`)
    return freezeReplicas(frozen, owner.port)
  }

  const waitForFailover = async (killedPort: number, timeoutMillis = FailoverTimeoutMillis) => {
    const since = killedAt.get(killedPort) ?? Date.now()
    const survivors = livePorts()
    // The killed node's id and slots, from a survivor's view (it still lists the node, flagged fail).
    const before = (await clusterNodes(survivors[0]!))?.find((n) => n.port === killedPort)
    if (before === undefined) throw new Error(`no survivor knows a node on port ${killedPort}`)
    const [firstSlot] = before.slots[0] ?? []
    const newPrimaryPort = await waitFor(
      `a replica of ${killedPort} to be promoted and cluster_state:ok on every survivor`,
      async () => {
        const [states, views] = await Promise.all([
          Promise.all(survivors.map(clusterState)),
          Promise.all(survivors.map(clusterNodes)),
        ])
        if (!states.every((state) => state === "ok")) return undefined
        // Every survivor must agree on one new, healthy owner of the killed primary's slots.
        const owners = new Set(
          views.map((view) => {
            const owner = view?.find(
              (n) =>
                n.flags.includes("master") &&
                !isFailed(n) &&
                firstSlot !== undefined &&
                n.slots.some(([from, to]) => firstSlot >= from && firstSlot <= to),
            )
            return owner?.port
          }),
        )
        const [owner] = owners
        return owners.size === 1 && owner !== undefined && owner !== killedPort ? owner : undefined
      },
      timeoutMillis,
      () => describeNodes(survivors),
    )
    return { newPrimaryPort, millis: Date.now() - since }
  }

  const startMigration = async (key: string, to?: number): Promise<SlotMigration> => {
    const slot = Number(await command(livePorts()[0]!, "CLUSTER", "KEYSLOT", key))
    const masters = await primaries()
    const source = masters.find((p) => p.slots.some(([from, last]) => slot >= from && slot <= last))
    if (source === undefined) throw new Error(`no primary owns slot ${slot} of key ${key}`)
    const others = masters.filter((p) => p.port !== source.port)
    const target = to === undefined ? others[0] : others.find((p) => p.port === to)
    if (target === undefined) throw new Error(`no primary to migrate slot ${slot} to`)
    await command(target.port, "CLUSTER", "SETSLOT", slot, "IMPORTING", source.id)
    await command(source.port, "CLUSTER", "SETSLOT", slot, "MIGRATING", target.id)
    const moveKeys = async (count: number) => {
      const keys = (await command(source.port, "CLUSTER", "GETKEYSINSLOT", slot, count)) as Array<string>
      if (keys.length > 0)
        await command(source.port, "MIGRATE", "127.0.0.1", target.port, "", 0, 5_000, "KEYS", ...keys)
      return keys.length
    }
    const finish = async () => {
      while ((await moveKeys(100)) > 0) {}
      // The target first: from then on it answers for the slot (redis-cli --cluster does the same).
      await command(target.port, "CLUSTER", "SETSLOT", slot, "NODE", target.id)
      await command(source.port, "CLUSTER", "SETSLOT", slot, "NODE", target.id)
      await Promise.all(
        others
          .filter((p) => p.port !== target.port)
          .map((p) => command(p.port, "CLUSTER", "SETSLOT", slot, "NODE", target.id)),
      )
    }
    return { slot, fromPort: source.port, toPort: target.port, moveKeys, finish }
  }

  const failOverGracefully = async (key: string) => {
    const port = livePorts()[0]!
    const slot = Number(await command(port, "CLUSTER", "KEYSLOT", key))
    const view = (await clusterNodes(port)) ?? []
    const owner = view.find(
      (n) => n.flags.includes("master") && n.slots.some(([from, to]) => slot >= from && slot <= to),
    )
    const replica = view.find((n) => n.masterId === owner?.id && !isFailed(n))
    if (owner === undefined || replica === undefined)
      throw new Error(`no primary with a live replica owns slot ${slot}`)
    const tookOver = async () => {
      const ports = livePorts()
      const [states, views] = await Promise.all([
        Promise.all(ports.map(clusterState)),
        Promise.all(ports.map(clusterNodes)),
      ])
      // The new primary serves the slot, and the old one follows it, in every node's view.
      const agreed = views.every((nodes) => {
        const promoted = nodes?.find((n) => n.port === replica.port)
        const demoted = nodes?.find((n) => n.port === owner.port)
        return (
          promoted?.flags.includes("master") === true &&
          promoted.slots.some(([from, to]) => slot >= from && slot <= to) &&
          demoted?.masterId === replica.id
        )
      })
      const synced = (await linkStatus(owner.port)) === "up"
      return states.every((state) => state === "ok") && agreed && synced ? true : undefined
    }
    // A manual failover the replica cannot finish in time (5 s: it must catch up with the paused
    // primary) is abandoned by Redis without a word: ask again, a few times.
    for (let attempt = 1; ; attempt++) {
      await command(replica.port, "CLUSTER", "FAILOVER")
      try {
        await waitFor(
          `replica ${replica.port} to take over from ${owner.port} on every node`,
          tookOver,
          ManualFailoverMillis,
          () => describeNodes(livePorts()),
        )
        return { oldPort: owner.port, newPort: replica.port }
      } catch (error) {
        if (attempt >= 3) throw error
      }
    }
  }

  return {
    startMigration,
    failOverGracefully,
    nodes: processes.map((each) => ({ host: "127.0.0.1", port: each.port }) as const),
    primaries,
    killPrimaryOf,
    freezeReplicasOf,
    waitForFailover,
    stop,
  }
}
