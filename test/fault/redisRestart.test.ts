/**
 * Redis restarts mid-drain: the server (AOF, fsync always) is stopped with SIGTERM and started
 * again on the same port and directory. Worker processes reconnect by themselves and finish the
 * queue; nothing acknowledged before the stop is lost, and processing resumes within a bound.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it, onTestFinished } from "vitest"
import { startRedisServer } from "../support/redisServer.ts"
import { adminClient, describeState, duplicates, enqueueMany, sleep, waitUntil, withWorkers } from "./support.ts"
import { Record } from "./workers.ts"

const Jobs = 3_000
const StopAt = 800
/** Processing must start again this soon after Redis is back. */
const ResumeBound = 10_000

/** Waits until every job is done, then counts the jobs never done and those run more than once. */
const drained = async (admin: ReturnType<typeof adminClient>, jids: ReadonlyArray<string>) => {
  await waitUntil(
    "every job done",
    async () => (await admin.scard("done")) === Jobs,
    30_000,
    20,
    () => describeState(admin),
  )
  const done = new Set(await admin.smembers("done"))
  return { lost: jids.filter((jid) => !done.has(jid)).length, twice: await duplicates(admin) }
}

/** A private redis-server with AOF (fsync always) that the test can restart on the same port and dir. */
const restartableRedis = async () => {
  const dir = await mkdtemp(join(tmpdir(), "verk-fault-restart-"))
  const first = await startRedisServer({ appendonly: true, dir })
  let stop = first.stop
  const admin = adminClient(first.url)
  onTestFinished(async () => {
    admin.disconnect()
    await stop()
    await rm(dir, { recursive: true, force: true })
  })
  return {
    url: first.url,
    admin,
    /** SIGTERM (Redis fsyncs and exits), stay down `downMillis`, start again; returns when it is back. */
    restart: async (downMillis: number) => {
      await stop()
      const stoppedAt = Date.now()
      await sleep(downMillis)
      const next = await startRedisServer({ port: first.port, dir, appendonly: true })
      stop = next.stop
      return { stoppedAt, restartedAt: Date.now() }
    },
  }
}

describe("Redis restart mid-drain", () => {
  it("one node reconnects, resumes within the bound and finishes with no job lost", async () => {
    const workers = withWorkers()
    const { url, admin, restart } = await restartableRedis()

    const jids = await enqueueMany(
      url,
      Record,
      Array.from({ length: Jobs }, (_, n) => [n] as const),
    )
    const worker = workers.spawn({ url, queues: "default:10" })
    const nodeId = await worker.ready()
    await waitUntil(`${StopAt} jobs done`, async () => (await admin.scard("done")) >= StopAt, 30_000, 5)

    const { stoppedAt, restartedAt } = await restart(1_500)

    // Resumed = a job started after the restart (no job can be fetched while Redis is down).
    const resumedAt = await waitUntil(
      "a job to start after the restart",
      async () => {
        const starts = (await admin.hvals(`started:${worker.pid}`)).map(Number)
        const after = starts.filter((at) => at >= restartedAt)
        return after.length > 0 ? Math.min(...after) : undefined
      },
      ResumeBound,
      20,
    )

    const { lost, twice } = await drained(admin, jids)
    console.log(
      `Redis restart (1 node): down ${restartedAt - stoppedAt} ms; processing resumed ${resumedAt - restartedAt} ms ` +
        `after the restart; lost ${lost}, duplicates ${twice.length}`,
    )
    expect(lost).toBe(0)
    // One node: nobody recovers it, and a stop does not make a job run twice.
    expect(twice, "duplicates").toEqual([])
    await waitUntil(
      "the in-progress list to empty",
      async () => (await admin.hlen(`inprogress:default:${nodeId}`)) === 0,
      5_000,
    )
    expect(await admin.llen("queue:default")).toBe(0)
    expect(await admin.zcard("retry")).toBe(0)
    expect(await admin.zcard("dead")).toBe(0)
    // Still heartbeating on the new server.
    expect(await admin.exists(`verk:node:${nodeId}`)).toBe(1)

    worker.kill("SIGTERM")
    expect((await worker.exited).code).toBe(0)
    expect(await admin.sismember("verk_nodes", nodeId)).toBe(0)
  }, 60_000)

  it("two nodes whose heartbeats expired during the outage do not take each other for dead", async () => {
    const workers = withWorkers()
    const { url, admin, restart } = await restartableRedis()

    const jids = await enqueueMany(
      url,
      Record,
      Array.from({ length: Jobs }, (_, n) => [n] as const),
    )
    const nodes = [workers.spawn({ url, queues: "default:10" }), workers.spawn({ url, queues: "default:10" })]
    const ids = await Promise.all(nodes.map((node) => node.ready()))
    await waitUntil(`${StopAt} jobs done`, async () => (await admin.scard("done")) >= StopAt, 30_000, 5)

    // Down for longer than the heartbeat TTL (900 ms): every heartbeat key is gone when Redis is back.
    const { stoppedAt, restartedAt } = await restart(2_500)

    const { lost, twice } = await drained(admin, jids)
    // Each node logs the live peer it took for dead and how many of its jobs it put back.
    const putBack = nodes.flatMap((node, index) =>
      [...node.output().matchAll(new RegExp(`Recovered dead node ${ids[1 - index]}: (\\d+) jobs`, "g"))].map((m) =>
        Number(m[1]),
      ),
    )
    const requeued = putBack.reduce((sum, count) => sum + count, 0)
    console.log(
      `Redis restart (2 nodes): down ${restartedAt - stoppedAt} ms; lost ${lost}, duplicates ${twice.length}; ` +
        `live nodes taken for dead ${putBack.length} times, putting back ${requeued} running jobs`,
    )
    expect(lost).toBe(0)
    // Each saw its own heartbeat lapse, so neither believed the other's expired key: no live node
    // was recovered, and no job ran twice.
    expect(putBack, "live nodes taken for dead").toEqual([])
    expect(twice, "duplicates").toEqual([])
    for (const id of ids) {
      await waitUntil(
        `the in-progress list of ${id} to empty`,
        async () => (await admin.hlen(`inprogress:default:${id}`)) === 0,
        5_000,
      )
    }
    expect(await admin.llen("queue:default")).toBe(0)
    expect(await admin.zcard("dead")).toBe(0)
    // Both are alive, heartbeating and registered again.
    await waitUntil(
      "both nodes registered",
      async () => (await admin.smismember("verk_nodes", ...ids)).every((m) => m === 1),
      3_000,
    )
    expect(await admin.exists(...ids.map((id) => `verk:node:${id}`))).toBe(2)

    for (const node of nodes) node.kill("SIGTERM")
    for (const node of nodes) expect((await node.exited).code).toBe(0)
    expect(await admin.smembers("verk_nodes")).toEqual([])
  }, 60_000)
})
