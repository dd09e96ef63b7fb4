/**
 * Concurrent recovery: three live nodes find one dead node at the same moment. The dead node's
 * state is written directly (its in-progress list, `verk_nodes`, `verk:node:<id>:queues`, and a
 * heartbeat key that the test deletes). To make the three sweeps really collide, the heartbeat is
 * deleted and Redis is paused for writes (CLIENT PAUSE WRITE) for longer than a sweep interval:
 * every node reads that the dead node is dead, and every node's recovery script waits; on unpause
 * they all run at once. Each of the dead node's jobs must run exactly once.
 */
import { randomBytes } from "node:crypto"
import { describe, expect, it } from "vitest"
import { privateRedis, runCounts, sleep, waitUntil, withWorkers } from "./support.ts"

const DeadNode = "dead-node-1"
const Jobs = 1_000
const Nodes = 3
const Heartbeat = 1_000
const Pause = 1_500

const local = privateRedis()

const sidekiqJob = (n: number) => {
  const now = Date.now() / 1000
  return JSON.stringify({
    class: "Record",
    args: [n],
    jid: randomBytes(12).toString("hex"),
    queue: "default",
    retry: true,
    created_at: now,
    enqueued_at: now,
  })
}

describe("three nodes recovering one dead node at once", () => {
  it("runs each of the dead node's jobs exactly once", async () => {
    const workers = withWorkers()
    const payloads = Array.from({ length: Jobs }, (_, n) => sidekiqJob(n))
    const jids = payloads.map((raw) => (JSON.parse(raw) as { jid: string }).jid)
    // The dead node's jobs as a list of payloads, the form a node of an earlier version left:
    // recovery turns it into token entries first, in the same atomic batch.
    await local.redis
      .multi()
      .lpush(`inprogress:default:${DeadNode}`, ...payloads)
      .sadd("verk_nodes", DeadNode)
      .sadd(`verk:node:${DeadNode}:queues`, "default")
      .sadd("queues", "default")
      // Alive for now, so that no node recovers it before all three run.
      .set(`verk:node:${DeadNode}`, "1", "PX", 60_000)
      .exec()

    const nodes = Array.from({ length: Nodes }, () =>
      workers.spawn({ url: local.server.url, queues: "default:10", heartbeat: `${Heartbeat} millis` }),
    )
    const ids = await Promise.all(nodes.map((node) => node.ready()))
    await waitUntil(
      "every node registered and heartbeating",
      async () => (await local.redis.exists(...ids.map((id) => `verk:node:${id}`))) === Nodes,
      5_000,
    )
    // Let every node run a sweep or two that sees the dead node alive.
    await sleep(Heartbeat * 2)
    expect(await local.redis.llen(`inprogress:default:${DeadNode}`)).toBe(Jobs)

    // The node dies; writes (and scripts) wait while every node's next sweep finds it dead.
    await local.redis.pipeline().del(`verk:node:${DeadNode}`).client("PAUSE", Pause, "WRITE").exec()
    const pausedAt = Date.now()

    await waitUntil("every job done", async () => (await local.redis.scard("done")) === Jobs, 30_000, 20)
    const recoveredAfter = Date.now() - pausedAt
    const runs = await runCounts(local.redis)
    const notOnce = jids.filter((jid) => runs.get(jid) !== 1).map((jid) => [jid, runs.get(jid) ?? 0])
    await waitUntil(
      "the dead node deregistered",
      async () => (await local.redis.sismember("verk_nodes", DeadNode)) === 0,
      5_000,
    )

    // Which nodes took part, and how many jobs each put back (each logs its own count).
    const recoveredBy = nodes.map((node) => {
      const counts = [...node.output().matchAll(new RegExp(`Recovered dead node ${DeadNode}: (\\d+) jobs`, "g"))]
      return counts.map((match) => Number(match[1]))
    })
    const total = recoveredBy.flat().reduce((sum, count) => sum + count, 0)
    console.log(
      `concurrent recovery: ${recoveredBy.filter((counts) => counts.length > 0).length} of ${Nodes} nodes recovered ` +
        `${DeadNode}, jobs put back per node: ${JSON.stringify(recoveredBy)}; all ${Jobs} done ${recoveredAfter} ms ` +
        `after the pause; jobs not run exactly once: ${notOnce.length}`,
    )
    expect(notOnce).toEqual([])
    expect(total, "jobs put back, summed over the nodes").toBe(Jobs)
    expect(
      recoveredBy.filter((counts) => counts.length > 0).length,
      "several nodes recovered the dead node at once",
    ).toBeGreaterThanOrEqual(2)
    expect(await local.redis.exists(`inprogress:default:${DeadNode}`, `verk:node:${DeadNode}:queues`)).toBe(0)
    expect(await local.redis.llen("queue:default")).toBe(0)
    expect(await local.redis.zcard("dead")).toBe(0)
    // No live node was taken for dead while writes were paused.
    expect((await local.redis.smembers("verk_nodes")).sort()).toEqual([...ids].sort())

    for (const node of nodes) node.kill("SIGTERM")
    for (const node of nodes) expect((await node.exited).code).toBe(0)
    expect(await local.redis.smembers("verk_nodes")).toEqual([])
  }, 60_000)
})
