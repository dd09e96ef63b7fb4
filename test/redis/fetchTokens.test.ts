/**
 * fetch.lua's tokens, on a real Redis: a job taken is an entry `token → payload` of the node's
 * in-progress hash, under the caller's first token and the numbers after it; the same command run
 * again (ioredis resends a command whose reply a reconnect cut off) finds its first token taken
 * and takes nothing, so no job is written over another; and recovery reads a list left by a node
 * of an earlier version.
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Lua from "../../packages/redis/src/luaSources.ts"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"

const namespace = uniqueNamespace()
const key = (name: string) => `${namespace}:${name}`
const queue = key("queue:q")
const inProgress = key("inprogress:q:n1")
let redis: Redis

beforeAll(() => {
  redis = new Redis(redisUrl())
})
afterAll(async () => {
  await deleteNamespace(redisUrl(), namespace)
  redis.disconnect()
})

/** fetch.lua's call, as the store makes it (Sidekiq's key scheme). */
const fetch = (count: number, firstToken: number) =>
  redis.eval(
    Lua.fetch,
    6,
    queue,
    inProgress,
    key("verk:recovered"),
    key("verk:paused"),
    key("verk_nodes"),
    key("verk:node:n1:queues"),
    count,
    "q",
    "n1",
    0,
    firstToken,
    2,
  ) as Promise<[Array<string>, number, number, number, number]>

describe("fetch.lua's tokens", () => {
  it("writes each job under its token, and a resent call takes nothing", async () => {
    await redis.lpush(queue, "a", "b", "c", "d")
    const [jobs] = await fetch(3, 1_000_000_000_001)
    expect(jobs).toEqual(["a", "b", "c"])
    expect(await redis.hgetall(inProgress)).toEqual({
      "1000000000001": "a",
      "1000000000002": "b",
      "1000000000003": "c",
    })
    // The same command again: it ran already, so it takes nothing and overwrites nothing.
    expect(await fetch(3, 1_000_000_000_001)).toEqual([[], 0, 0, 0, 0])
    expect(await redis.lrange(queue, 0, -1)).toEqual(["d"])
    expect(await redis.hlen(inProgress)).toBe(3)
    // The next call's tokens follow on.
    expect((await fetch(3, 1_000_000_000_004))[0]).toEqual(["d"])
    expect(await redis.hget(inProgress, "1000000000004")).toBe("d")
  })

  it("recovery turns a list left by a node of an earlier version into entries, oldest back first", async () => {
    const legacy = key("inprogress:q:old")
    const target = key("queue:r")
    // An earlier version LPUSHed what it took: the oldest is rightmost.
    await redis.lpush(legacy, "old1", "old2", "old3")
    const moved = await redis.eval(Lua.requeueInprogress, 3, legacy, target, key("verk:batches:q:old"), 100, "r", "")
    expect(moved).toBe(3)
    expect(await redis.exists(legacy)).toBe(0)
    // Put back at the right end, oldest rightmost: it runs first.
    expect(await redis.lrange(target, 0, -1)).toEqual(["old3", "old2", "old1"])
  })
})
