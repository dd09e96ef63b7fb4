/**
 * Jobs taken whole (fetch.lua's batch lists), on a real Redis, in both key schemes: once a queue's
 * payloads average 2 KiB or more, a fetch moves its jobs into a list of their own without Lua
 * reading them, and gives each an empty in-progress entry under its token. Every way a job leaves
 * in-progress keeps every byte: its outcome (ack, retry, kill, snooze) counts the batch down and
 * the last one deletes the list; the moves back to the queue (orphans, shutdown, a dead node's
 * recovery) and the listing read the payloads from the lists.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Redis } from "ioredis"
import * as Lua from "../../packages/redis/src/luaSources.ts"
import { openRedisStore } from "../runtime/support.ts"
import { redisUrl } from "../support/redis.ts"

/** A job whose payload is about `size` bytes: large enough to be taken whole. */
const job = (n: number, size = 4_000) =>
  JSON.stringify({ class: "Big", queue: "q", args: [`${n}:${"x".repeat(size)}`], jid: `jid-${n}` })

const withRedis = <A>(use: (redis: Redis) => Promise<A>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new Redis(redisUrl())),
    (redis) => Effect.promise(() => use(redis)),
    (redis) => Effect.sync(() => redis.disconnect()),
  )

/** The namespace's batch lists and their registries. */
const batchKeys = (namespace: string) =>
  withRedis(async (redis) => {
    const found: Array<string> = []
    let cursor = "0"
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${namespace}:verk:batch*`, "COUNT", 1000)
      found.push(...keys)
      cursor = next
    } while (cursor !== "0")
    return found.sort()
  })

const dead = { maxJobs: 100, maxAgeSeconds: 3600 }

describe.each(["sidekiq", "cluster"] as const)("jobs taken whole (%s key scheme)", (keyScheme) => {
  /** A store whose queue `q` has seen one large job (fetched and acked), so that fetches take whole. */
  const primed = Effect.gen(function* () {
    const opened = yield* openRedisStore(keyScheme)
    const { store, redis } = opened
    if (redis === undefined) throw new Error("a Redis store has its namespace")
    yield* store.enqueue("q", [job(0)])
    const first = yield* store.fetch("q", "n1", 1)
    yield* store.ack(
      "q",
      "n1",
      first.jobs.map(({ token }) => token),
    )
    expect(yield* batchKeys(redis.namespace)).toEqual([])
    return { store, redis }
  })

  it.live("takes the oldest jobs whole, byte for byte, and the last ack deletes the list", () =>
    Effect.gen(function* () {
      const { store, redis } = yield* primed
      yield* store.enqueue(
        "q",
        [1, 2, 3, 4, 5].map((n) => job(n)),
      )
      const fetched = yield* store.fetch("q", "n1", 3)
      expect(fetched.jobs.map(({ raw }) => raw)).toEqual([job(1), job(2), job(3)])
      const tokens = fetched.jobs.map(({ token }) => Number(token))
      expect(tokens).toEqual([tokens[0]!, tokens[0]! + 1, tokens[0]! + 2])
      // A list and its count: the payloads are not in the in-progress entries.
      expect((yield* batchKeys(redis.namespace)).length).toBe(2)
      expect((yield* store.inProgress("q", "n1")).map(({ raw }) => raw)).toEqual([job(1), job(2), job(3)])

      yield* store.ack("q", "n1", [fetched.jobs[0]!.token, fetched.jobs[1]!.token])
      expect((yield* batchKeys(redis.namespace)).length).toBe(2)
      yield* store.ack("q", "n1", [fetched.jobs[2]!.token])
      expect(yield* batchKeys(redis.namespace)).toEqual([])
      expect(yield* store.inProgress("q", "n1")).toEqual([])
      // The rest of the queue, still in order.
      expect((yield* store.fetch("q", "n1", 5)).jobs.map(({ raw }) => raw)).toEqual([job(4), job(5)])
    }).pipe(Effect.scoped),
  )

  it.live("a retry, a kill and a snooze count the batch down like acks", () =>
    Effect.gen(function* () {
      const { store, redis } = yield* primed
      yield* store.enqueue(
        "q",
        [1, 2, 3].map((n) => job(n)),
      )
      const [a, b, c] = (yield* store.fetch("q", "n1", 3)).jobs
      yield* store.retry("q", "n1", a!.token, `${a!.raw} `, 100)
      yield* store.kill("q", "n1", b!.token, `${b!.raw} `, 100, dead)
      expect((yield* batchKeys(redis.namespace)).length).toBe(2)
      yield* store.snooze("q", "n1", c!.token, c!.raw, 100)
      expect(yield* batchKeys(redis.namespace)).toEqual([])
      expect(yield* store.inProgress("q", "n1")).toEqual([])
      const set = (name: "retry" | "dead" | "schedule") =>
        Effect.map(store.setRange(name, 0, -1), (entries) => entries.map(({ payload }) => payload))
      expect(yield* set("retry")).toEqual([`${a!.raw} `])
      expect(yield* set("dead")).toEqual([`${b!.raw} `])
      expect(yield* set("schedule")).toEqual([c!.raw])
    }).pipe(Effect.scoped),
  )

  it.live("orphans, a shutdown and a dead node's recovery put every byte back", () =>
    Effect.gen(function* () {
      const { store, redis } = yield* primed
      yield* store.enqueue(
        "q",
        [1, 2, 3, 4].map((n) => job(n)),
      )
      const [one, two, three, four] = (yield* store.fetch("q", "n1", 4)).jobs
      // Orphans: two jobs back to the front of the queue; the lists are gone, the rest stay in progress.
      expect(yield* store.requeueOrphans("q", "n1", [two!.token, three!.token])).toBe(2)
      expect(yield* batchKeys(redis.namespace)).toEqual([])
      expect((yield* store.inProgress("q", "n1")).map(({ raw }) => raw)).toEqual([job(1), job(4)])
      // Acks after that find their entries (with their payloads now) and leave nothing behind.
      yield* store.ack("q", "n1", [one!.token])
      expect((yield* store.inProgress("q", "n1")).map(({ raw }) => raw)).toEqual([job(4)])
      yield* store.ack("q", "n1", [four!.token])
      expect(yield* batchKeys(redis.namespace)).toEqual([])

      // A shutdown: n1 takes the two back whole (the last put back runs first) and puts them back.
      const back = [job(3), job(2)]
      expect((yield* store.fetch("q", "n1", 2)).jobs.map(({ raw }) => raw)).toEqual(back)
      expect(yield* store.requeueInProgress("q", "n1")).toBe(2)
      expect(yield* batchKeys(redis.namespace)).toEqual([])

      // A dead node: n2 takes them whole and dies; n1 recovers them.
      expect((yield* store.fetch("q", "n2", 2)).jobs.map(({ raw }) => raw)).toEqual(back)
      const recovered = yield* store.recoverBatch("q", "n2", 5)
      expect(recovered.taken).toBe(2)
      expect(yield* batchKeys(redis.namespace)).toEqual([])
      // Back in the queue (recovered jobs then run alone): the last element runs next.
      expect(yield* store.queueRange("q", 0, -1)).toEqual([...back].reverse())
      // While a recovered job waits, fetches take jobs the usual way: a suspect is looked at by its payload.
      const alone = yield* store.fetch("q", "n1", 5, true)
      expect([alone.isolated, alone.jobs.map(({ raw }) => raw)]).toEqual([true, [job(3)]])
      expect(yield* batchKeys(redis.namespace)).toEqual([])
    }).pipe(Effect.scoped),
  )

  it.live("a fetch that meets NOSCRIPT reads its list again once the script has run", () =>
    Effect.gen(function* () {
      const { store } = yield* primed
      yield* store.enqueue(
        "q",
        [1, 2].map((n) => job(n)),
      )
      yield* withRedis((client) => client.script("FLUSH"))
      const fetched = yield* store.fetch("q", "n1", 2)
      expect(fetched.jobs.map(({ raw }) => raw)).toEqual([job(1), job(2)])
      yield* store.ack(
        "q",
        "n1",
        fetched.jobs.map(({ token }) => token),
      )
      expect(yield* store.inProgress("q", "n1")).toEqual([])
    }).pipe(Effect.scoped),
  )

  it.live("payloads that are not UTF-8 keep their bytes", () =>
    Effect.gen(function* () {
      const { store, redis } = yield* primed
      const bytes = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), Buffer.alloc(5_000, 0x80)])
      const queueKey = `${redis.namespace}:queue:${keyScheme === "cluster" ? "{q}" : "q"}`
      yield* withRedis((client) => client.lpush(queueKey, bytes))
      const [taken] = (yield* store.fetch("q", "n1", 1)).jobs
      expect((yield* batchKeys(redis.namespace)).length).toBe(2)
      expect(yield* store.requeueOrphans("q", "n1", [taken!.token])).toBe(1)
      const back = yield* withRedis((client) => client.lrangeBuffer(queueKey, 0, -1))
      expect(back).toEqual([bytes])
    }).pipe(Effect.scoped),
  )
})

describe("fetch.lua taking jobs whole", () => {
  it.live("a resent call takes nothing, and the jobs of the first are in its list", () =>
    withRedis(async (redis) => {
      const ns = `whole-${Date.now()}-${Math.random()}`
      const key = (name: string) => `${ns}:${name}`
      await redis.lpush(key("queue:q"), "a", "b", "c", "d")
      const call = () =>
        redis.eval(
          Lua.fetch,
          5,
          key("queue:q"),
          key("inprogress:q:n1"),
          key("verk:recovered"),
          key("verk:paused"),
          key("verk_nodes"),
          3,
          "q",
          "n1",
          0,
          7,
          2,
          key("verk:batch:q:n1:7"),
          key("verk:batches:q:n1"),
        )
      expect(await call()).toEqual([[], 0, 0, 0, 3])
      expect(await call()).toEqual([[], 0, 0, 0, 0])
      // Newest first: the job under token 7 (the oldest, "a") is last.
      expect(await redis.lrange(key("verk:batch:q:n1:7"), 0, -1)).toEqual(["c", "b", "a"])
      expect(await redis.hgetall(key("inprogress:q:n1"))).toEqual({ "7": "", "8": "", "9": "" })
      expect(await redis.hgetall(key("verk:batches:q:n1"))).toEqual({ [key("verk:batch:q:n1:7")]: "3" })
      expect(await redis.lrange(key("queue:q"), 0, -1)).toEqual(["d"])
      await redis.del(
        ...["queue:q", "inprogress:q:n1", "verk:batch:q:n1:7", "verk:batches:q:n1", "verk_nodes"].map(key),
      )
    }),
  )
})
