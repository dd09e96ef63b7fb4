/**
 * Cluster failover mid-drain: a Verk node drains six queues spread over a 3-shard Redis Cluster
 * while a producer enqueues; the primary of one queue (and of the `{verk}` registries) is killed
 * with SIGKILL, its replica takes over, and the node and the producer carry on. Counts lost and
 * duplicated jobs with the durability setting off and on, with the replicas in step and with lagging
 * replicas (frozen, their links cut, for 450 ms before the kill: on loopback only that makes the
 * asynchronous-replication loss window real).
 */
import { afterEach, describe, expect, it } from "vitest"
import * as Keys from "../../packages/redis/src/Keys.ts"
import * as Slots from "../../packages/redis/src/Slots.ts"
import { type RedisCluster, startCluster } from "../support/redisCluster.ts"
import { describeReport, runFailover, type Topology } from "./failoverSupport.ts"

/** Start (~3 s), drain, failover (~3 s) and the drain after it, on a loaded 2-core machine. */
const TestTimeout = 50_000
/** Two queues on each shard; q1 shares its shard with the `{verk}` registries. */
const Queues = ["q0", "q1", "q2", "q3", "q4", "q5"]
const Victim = "q1"
const keys = Keys.make(undefined, "cluster")

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

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

describe("Cluster: the primary of a queue killed mid-drain", () => {
  for (const lagging of [false, true]) {
    for (const durable of [false, true]) {
      const replica = lagging ? "lagging replica" : "replica in step"
      it(
        `${replica}, durability ${durable ? "replicas 1: no acknowledged job is lost" : "off: processing resumes (losses printed)"}`,
        async () => {
          // Two replicas per primary: the promoted one still has a replica to acknowledge WAIT.
          const cluster = await startCluster({ replicasPerPrimary: 2 })
          cleanups.push(cluster.stop)
          const report = await runFailover(topology(cluster), durable, { lagging })
          console.log(describeReport("cluster", durable, report, { lagging }))

          expect(report.processingAgainMillis, "a job ran and finished after the kill").toBeDefined()
          expect(report.finishedAfterFailover, "jobs finished after the failover").toBeGreaterThan(0)
          if (durable) {
            expect(report.missing, "acknowledged jobs that never ran").toEqual([])
            expect(report.lost).toBe(0)
            // Outcomes are replicated too, so none is left behind on the promoted replica.
            expect(report.leftInProgress, "jobs left in progress").toBe(0)
          }
          if (lagging && durable) {
            // The enqueues issued while the replicas were frozen were not acknowledged: the first fail
            // with NotReplicated, those queued behind their WAITs on the connection fail at the kill.
            expect(report.enqueueFailures, "enqueues refused while the replicas were frozen").toBeGreaterThan(0)
          }
          if (lagging && !durable) {
            // The primary acknowledged enqueues the frozen replica never got, and jobs still queued vanish.
            expect(report.lost, "acknowledged jobs lost with a lagging replica").toBeGreaterThan(0)
          }
        },
        TestTimeout,
      )
    }
  }
})
