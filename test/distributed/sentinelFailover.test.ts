/**
 * Sentinel failover mid-drain: a Verk node connected through Sentinel drains while a producer
 * enqueues; the primary is killed with SIGKILL, Sentinel promotes the replica, and the node and the
 * producer carry on there. Counts lost and duplicated jobs with the durability setting off and on,
 * with the replica in step and with a lagging replica (frozen, its link cut, for 450 ms before the
 * kill: on loopback only that makes the asynchronous-replication loss window real).
 */
import { type SentinelGroup, startSentinelGroup } from "../support/redisSentinel.ts"
import { launchRedis, replicationArgs } from "../support/redisServer.ts"
import { describeFailover, type Topology } from "./failoverSupport.ts"

const Queues = ["default", "mail", "reports"]

/**
 * A new replica of the promoted primary, as an operator would start after losing a node: the group
 * has one replica, so once it is promoted no replica is left to acknowledge `WAIT`.
 */
const startReplacementReplica = (primaryPort: number) =>
  launchRedis({
    name: "sentinel-replacement",
    args: (port, dir) => [...replicationArgs(port, dir), "--replicaof", "127.0.0.1", String(primaryPort)],
  })

const topology = (group: SentinelGroup, onCleanup: (cleanup: () => Promise<void>) => void): Topology => ({
  name: "sentinel",
  connection: { sentinel: { nodes: group.sentinels, name: group.masterName } },
  queues: Queues,
  kill: async () => ({ ...(await group.killPrimary()), queues: Queues }),
  waitForFailover: async (killedPort) => {
    const { newPrimaryPort } = await group.waitForFailover(killedPort)
    const replacement = await startReplacementReplica(newPrimaryPort)
    onCleanup(replacement.remove)
    return { newPrimaryPort }
  },
  freezeReplicas: group.freezeReplicas,
})

describeFailover("Sentinel: the primary killed mid-drain", async (onCleanup) => {
  const group = await startSentinelGroup()
  onCleanup(group.stop)
  return topology(group, onCleanup)
})
