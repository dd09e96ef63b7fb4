/**
 * The distributed-Redis harnesses work: a real cluster and a real sentinel group start on loopback,
 * a plain ioredis client uses them, and after a primary is killed with SIGKILL a replica takes
 * over with every write that was replicated before the kill (WAIT 1) still there.
 */
import { Cluster, Redis } from "ioredis"
import { describe, expect, it } from "vitest"
import { startCluster } from "../support/redisCluster.ts"
import { startSentinelGroup } from "../support/redisSentinel.ts"

const Keys = 300
/** Start, failover and reconnection all fit well within this on a loaded 2-core CI machine. */
const TestTimeout = 60_000

describe("distributed Redis harness", () => {
  it(
    "cluster: keys replicated before a primary is killed are readable after the failover",
    async () => {
      const startedAt = Date.now()
      const cluster = await startCluster()
      const startMillis = Date.now() - startedAt
      const client = new Cluster([...cluster.nodes], {
        // Slot moves after the failover are found by refreshing; commands meanwhile wait and retry.
        retryDelayOnClusterDown: 100,
        retryDelayOnFailover: 100,
        redisOptions: { connectTimeout: 1_000, maxRetriesPerRequest: 50 },
      })
      // A killed node's connection errors are expected; a failed command still rejects.
      client.on("error", () => {})
      try {
        expect(await cluster.primaries()).toHaveLength(3)
        const keys = Array.from({ length: Keys }, (_, n) => `harness:${n}`)
        await Promise.all(keys.map((key, n) => client.set(key, `value-${n}`)))
        // WAIT on the very connections that wrote: each primary's writes reached its replica.
        const acks = await Promise.all(client.nodes("master").map((node) => node.wait(1, 5_000)))
        expect(acks.every((ack) => ack >= 1)).toBe(true)

        const { killedPort } = await cluster.killPrimaryOf(keys[0]!)
        const { newPrimaryPort, millis } = await cluster.waitForFailover(killedPort)
        console.log(
          `cluster: started in ${startMillis} ms; primary ${killedPort} killed, ${newPrimaryPort} promoted after ${millis} ms`,
        )
        expect((await cluster.primaries()).map((p) => p.port)).toContain(newPrimaryPort)
        expect((await cluster.primaries()).map((p) => p.port)).not.toContain(killedPort)

        const values = await Promise.all(keys.map((key) => client.get(key)))
        expect(values).toEqual(keys.map((_, n) => `value-${n}`))
        await client.set(keys[0]!, "after")
        expect(await client.get(keys[0]!)).toBe("after")
      } finally {
        client.disconnect()
        await cluster.stop()
      }
    },
    TestTimeout,
  )

  it(
    "sentinel: the client follows the promoted replica, reads what was replicated and writes",
    async () => {
      const startedAt = Date.now()
      const group = await startSentinelGroup()
      const startMillis = Date.now() - startedAt
      const client = new Redis({
        sentinels: [...group.sentinels],
        name: group.masterName,
        connectTimeout: 1_000,
        maxRetriesPerRequest: 50,
        // Reconnect soon: the failover itself takes a couple of seconds.
        retryStrategy: () => 100,
      })
      client.on("error", () => {})
      try {
        const before = await group.primaryPort()
        expect(await group.replicaPorts()).toHaveLength(1)
        await client.set("harness:sentinel", "before")
        expect(await client.wait(1, 5_000)).toBeGreaterThanOrEqual(1)

        const { killedPort } = await group.killPrimary()
        expect(killedPort).toBe(before)
        const { newPrimaryPort, millis } = await group.waitForFailover(killedPort)
        console.log(
          `sentinel: started in ${startMillis} ms; primary ${killedPort} killed, ${newPrimaryPort} promoted after ${millis} ms`,
        )
        expect(await group.primaryPort()).toBe(newPrimaryPort)

        expect(await client.get("harness:sentinel")).toBe("before")
        await client.set("harness:sentinel", "after")
        expect(await client.get("harness:sentinel")).toBe("after")
        // The write went to the new primary, not to a stale connection.
        const role = await client.call("ROLE")
        expect(Array.isArray(role) && role[0]).toBe("master")
        expect(await client.call("CONFIG", "GET", "port")).toEqual(["port", String(newPrimaryPort)])
      } finally {
        client.disconnect()
        await group.stop()
      }
    },
    TestTimeout,
  )
})
