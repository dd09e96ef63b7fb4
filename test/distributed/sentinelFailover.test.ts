/**
 * Sentinel failover mid-drain: a Verk node connected through Sentinel drains while a producer
 * enqueues; the primary is killed with SIGKILL, Sentinel promotes the replica, and the node and the
 * producer carry on there. Counts lost and duplicated jobs with the durability setting off and on,
 * with the replica in step and with a lagging replica (frozen, its link cut, for 450 ms before the
 * kill: on loopback only that makes the asynchronous-replication loss window real).
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { type RedisProcess, spawnRedis } from "../support/redisCluster.ts"
import { type SentinelGroup, startSentinelGroup } from "../support/redisSentinel.ts"
import { freePort } from "../support/redisServer.ts"
import { describeReport, runFailover, type Topology } from "./failoverSupport.ts"

/** Start (~3 s), drain, failover (~3 s) and the drain after it, on a loaded 2-core machine. */
const TestTimeout = 50_000
const Queues = ["default", "mail", "reports"]

/**
 * A new replica of the promoted primary, as an operator would start after losing a node: the group
 * has one replica, so once it is promoted no replica is left to acknowledge `WAIT`.
 */
const startReplacementReplica = async (
  primaryPort: number,
): Promise<RedisProcess & { readonly remove: () => Promise<void> }> => {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), "verk-sentinel-replacement-"))
  const replica = await spawnRedis(port, dir, [
    ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "no", "--save", ""],
    ...["--daemonize", "no", "--loglevel", "warning", "--replicaof", "127.0.0.1", String(primaryPort)],
  ])
  return {
    ...replica,
    remove: async () => {
      await replica.kill()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const topology = (group: SentinelGroup): Topology => ({
  name: "sentinel",
  connection: { sentinel: { nodes: group.sentinels, name: group.masterName } },
  queues: Queues,
  kill: async () => ({ ...(await group.killPrimary()), queues: Queues }),
  waitForFailover: async (killedPort) => {
    const { newPrimaryPort } = await group.waitForFailover(killedPort)
    const replacement = await startReplacementReplica(newPrimaryPort)
    cleanups.push(replacement.remove)
    return { newPrimaryPort }
  },
  freezeReplicas: group.freezeReplicas,
})

describe("Sentinel: the primary killed mid-drain", () => {
  for (const lagging of [false, true]) {
    for (const durable of [false, true]) {
      const replica = lagging ? "lagging replica" : "replica in step"
      it(
        `${replica}, durability ${durable ? "replicas 1: no acknowledged job is lost" : "off: processing resumes (losses printed)"}`,
        async () => {
          const group = await startSentinelGroup()
          cleanups.push(group.stop)
          const report = await runFailover(topology(group), durable, { lagging })
          console.log(describeReport("sentinel", durable, report, { lagging }))

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
