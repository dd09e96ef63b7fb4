/**
 * SentinelFollow on a real Sentinel group: the follower learns the primary from the sentinels, a
 * followed connection is made ready only on that primary, and one still on a paused primary is
 * dropped as soon as Sentinel announces another, before the old one is back.
 */
import { Redis } from "ioredis"
import { afterEach, describe, expect, it } from "vitest"
import { type SentinelGroup, startSentinelGroup } from "../../../test/support/redisSentinel.ts"
import * as SentinelFollow from "../src/SentinelFollow.ts"

/** Until `check` holds, polled every 20 ms; throws after `timeoutMillis`. */
const until = async (what: string, check: () => boolean, timeoutMillis = 15_000) => {
  const deadline = Date.now() + timeoutMillis
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe("SentinelFollow", () => {
  it("reads a +switch-master message, and nothing else", () => {
    expect(SentinelFollow.parseSwitch("jobs 10.0.0.1 6379 10.0.0.2 6380")).toEqual({
      name: "jobs",
      to: { host: "10.0.0.2", port: 6380 },
    })
    expect(SentinelFollow.parseSwitch("jobs 10.0.0.1 6379")).toBeUndefined()
    expect(SentinelFollow.parseSwitch("jobs 10.0.0.1 6379 10.0.0.2 x")).toBeUndefined()
  })

  describe("on a Sentinel group", () => {
    const cleanups: Array<() => unknown> = []
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    })
    const setUp = async () => {
      const group: SentinelGroup = await startSentinelGroup()
      cleanups.push(group.stop)
      const warnings: Array<string> = []
      const follower = SentinelFollow.make({
        nodes: group.sentinels,
        name: group.masterName,
        clientOptions: {},
        logWarning: (message) => warnings.push(message),
      })
      cleanups.push(follower.close)
      await follower.started
      await until("the follower to know the primary", () => follower.primary() !== undefined)
      const client = (port: number) => {
        const redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true, retryStrategy: () => 50 })
        redis.on("error", () => {})
        cleanups.push(() => redis.disconnect())
        follower.follow(redis)
        return redis
      }
      return { group, follower, warnings, client }
    }

    it("makes a connection ready only on the primary Sentinel names", async () => {
      const { group, follower, client } = await setUp()
      const primaryPort = await group.primaryPort()
      expect(follower.primary()).toEqual({ host: "127.0.0.1", port: primaryPort })

      const onPrimary = client(primaryPort)
      await onPrimary.connect()
      expect(await onPrimary.ping()).toBe("PONG")

      // A server Sentinel does not name (here the replica) is refused at every connect.
      const [replicaPort] = await group.replicaPorts()
      const elsewhere = client(replicaPort!)
      let connects = 0
      let readies = 0
      elsewhere.on("connect", () => connects++)
      elsewhere.on("ready", () => readies++)
      void elsewhere.connect().catch(() => {})
      await until("three refused connects", () => connects >= 3)
      expect(readies).toBe(0)
      expect(elsewhere.status).not.toBe("ready")
    }, 30_000)

    it("drops a connection on a paused primary as soon as Sentinel announces another", async () => {
      const { group, follower, warnings, client } = await setUp()
      const primaryPort = await group.primaryPort()
      const onPrimary = client(primaryPort)
      await onPrimary.connect()
      let closedAt: number | undefined
      onPrimary.once("close", () => {
        closedAt = Date.now()
      })

      const { pausedPort, resume } = await group.pausePrimary()
      cleanups.push(resume)
      // Unanswered while paused: the connection stays open, nothing on it tells it the primary is gone.
      const ping = onPrimary.ping().catch((error: unknown) => error)
      const { newPrimaryPort } = await group.waitForFailover(pausedPort)
      await until("the follower to take the new primary", () => follower.primary()?.port === newPrimaryPort)
      await until("the connection on the paused primary to close", () => closedAt !== undefined, 5_000)
      // Still paused: the connection left because of the announcement, not because the old primary answered.
      resume()
      expect(warnings.some((line) => line.includes(`to 127.0.0.1:${newPrimaryPort}`))).toBe(true)
      expect(onPrimary.status).not.toBe("ready")
      void ping
    }, 40_000)
  })
})
