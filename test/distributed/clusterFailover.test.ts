/**
 * Cluster failover mid-drain: a Verk node drains six queues spread over a 3-shard Redis Cluster
 * while a producer enqueues; the primary of one queue (and of the `{verk}` registries) is killed
 * with SIGKILL, its replica takes over, and the node and the producer carry on. Counts lost and
 * duplicated jobs with the durability setting off and on, with the replicas in step and with lagging
 * replicas (frozen, their links cut, for 450 ms before the kill: on loopback only that makes the
 * asynchronous-replication loss window real).
 */
import * as Keys from "../../packages/redis/src/Keys.ts"
import * as Slots from "../../packages/redis/src/Slots.ts"
import { type RedisCluster, startCluster } from "../support/redisCluster.ts"
import { describeFailover, type Topology } from "./failoverSupport.ts"

/** Two queues on each shard; q1 shares its shard with the `{verk}` registries. */
const Queues = ["q0", "q1", "q2", "q3", "q4", "q5"]
const Victim = "q1"
const keys = Keys.make(undefined, "cluster")

const topology = (cluster: RedisCluster): Topology => ({
  name: "cluster",
  connection: { cluster: { nodes: cluster.nodes } },
  queues: Queues,
  kill: async () => {
    const owner = (port: number, queue: string) => {
      const slot = Slots.of(keys.queue(queue))
      return primaries.some((p) => p.port === port && p.slots.some(([from, to]) => slot >= from && slot <= to))
    }
    const primaries = await cluster.primaries()
    const { killedPort } = await cluster.killPrimaryOf(keys.queue(Victim))
    return { killedPort, queues: Queues.filter((queue) => owner(killedPort, queue)) }
  },
  waitForFailover: (killedPort) => cluster.waitForFailover(killedPort),
  freezeReplicas: () => cluster.freezeReplicasOf(keys.queue(Victim)),
})

describeFailover("Cluster: the primary of a queue killed mid-drain", async (onCleanup) => {
  // Two replicas per primary: the promoted one still has a replica to acknowledge WAIT.
  const cluster = await startCluster({ replicasPerPrimary: 2 })
  onCleanup(cluster.stop)
  return topology(cluster)
})
