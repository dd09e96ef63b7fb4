/**
 * The `verk` command on a real Redis Cluster (3 primaries), configured only by the environment
 * (`VERK_REDIS_CLUSTER`): a worker process runs jobs of queues spread over the shards, a job with bad args
 * waits in its queue's dead set, `verk stats` sums them; and Sidekiq's key scheme is refused there.
 */
import { Cause, Effect, Exit, Layer } from "effect"
import { Redis } from "ioredis"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import * as Slots from "../../packages/redis/src/Slots.ts"
import { startVerk, verk } from "../cli/support.ts"
import { uniqueNamespace } from "../support/redis.ts"
import { type RedisCluster, startCluster } from "../support/redisCluster.ts"

let cluster: RedisCluster
beforeAll(async () => {
  cluster = await startCluster({ replicasPerPrimary: 0 })
}, 30_000)
afterAll(async () => {
  await cluster?.stop()
})

const environment = () => ({
  VERK_REDIS_CLUSTER: cluster.nodes.map(({ host, port }) => `${host}:${port}`).join(","),
  VERK_NAMESPACE: uniqueNamespace(),
  VERK_POLL_INTERVAL: "200ms",
  VERK_HEARTBEAT_INTERVAL: "500ms",
  VERK_SHUTDOWN_TIMEOUT: "2s",
})

/** Queue names whose keys land on three different slots' owners: one per shard. */
const spreadQueues = async (): Promise<ReadonlyArray<string>> => {
  const primaries = await cluster.primaries()
  const ownerOf = (slot: number) =>
    primaries.find(({ slots }) => slots.some(([from, to]) => slot >= from && slot <= to))?.port
  const byOwner = new Map<number, string>()
  for (let i = 0; byOwner.size < primaries.length && i < 1_000; i++) {
    const owner = ownerOf(Slots.of(`q${i}`))
    if (owner !== undefined && !byOwner.has(owner)) byOwner.set(owner, `q${i}`)
  }
  return [...byOwner.values()]
}

describe("verk on a Redis Cluster", () => {
  it("runs jobs of queues on every shard, keeps a dead job in its queue's set, and stats sum the shards", async () => {
    const env = environment()
    const queues = await spreadQueues()
    assert.strictEqual(queues.length, 3)
    const worker = startVerk(["run", "test/examples/workers.ts"], {
      ...env,
      VERK_QUEUES: queues.map((queue) => `${queue}:5`).join(","),
    })
    await worker.waitFor("accounts: connected")
    for (const [index, queue] of queues.entries()) {
      const enqueued = await verk(
        ["enqueue", "CreditAccount", `["acct-${index}", ${index + 1}]`, "--queue", queue],
        env,
      )
      assert.strictEqual(enqueued.code, 0, enqueued.stderr)
    }
    // Args that do not match the worker's Schema: retrying cannot help, so the job goes to dead at once.
    const bad = await verk(["enqueue", "CreditAccount", '["acct-x", "not cents"]', "--queue", queues[0] ?? ""], env)
    assert.strictEqual(bad.code, 0, bad.stderr)
    for (const index of queues.keys()) await worker.waitFor(`credited ${index + 1} cents to acct-${index}`)

    const client = new Redis.Cluster([...cluster.nodes])
    try {
      let dead: Array<string> = []
      const deadline = Date.now() + 10_000
      while (dead.length === 0 && Date.now() < deadline) {
        dead = await client.zrange(`${env.VERK_NAMESPACE}:dead:{${queues[0]}}`, "0", "-1")
        if (dead.length === 0) await new Promise((resolve) => setTimeout(resolve, 50))
      }
      assert.strictEqual(dead.length, 1)
      assert.include(dead[0], '"not cents"')
      assert.strictEqual(await client.zcard(`${env.VERK_NAMESPACE}:retry:{${queues[0]}}`), 0)
      // Every queue's list lives on the shard of its tag: nothing is left in any of them.
      for (const queue of queues) assert.strictEqual(await client.llen(`${env.VERK_NAMESPACE}:queue:{${queue}}`), 0)
    } finally {
      client.disconnect()
    }

    // The worker writes its counters once a second: read until this run's are in.
    type StatsDocument = { processed: number; failed: number; retry: number; dead: number }
    let document: StatsDocument = { processed: 0, failed: 0, retry: 0, dead: 0 }
    const statsDeadline = Date.now() + 10_000
    while (Date.now() < statsDeadline) {
      const stats = await verk(["stats", "--json"], env)
      assert.strictEqual(stats.code, 0, stats.stderr)
      document = JSON.parse(stats.stdout) as StatsDocument
      if (document.processed >= 4 && document.failed >= 1) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.isAtLeast(document.processed, 4)
    assert.isAtLeast(document.failed, 1)
    assert.strictEqual(document.retry, 0)
    assert.strictEqual(document.dead, 1)

    worker.child.kill("SIGTERM")
    const exit = await worker.exited
    assert.strictEqual(exit.code, 0, worker.stderr())
  }, 60_000)

  it("Sidekiq's key scheme is refused on a cluster: a defect in code, a one-line error from the environment", async () => {
    const exit = await Effect.runPromiseExit(
      Layer.build(RedisStore.layer({ cluster: { nodes: cluster.nodes }, keyScheme: "sidekiq" })).pipe(Effect.scoped),
    )
    assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
    assert.include(String(exit), "Sidekiq's key scheme cannot run on a Redis Cluster")

    const refused = await verk(["stats"], { ...environment(), VERK_KEY_SCHEME: "sidekiq" })
    assert.strictEqual(refused.code, 1)
    assert.strictEqual(
      refused.stderr,
      'verk: VERK_KEY_SCHEME="sidekiq": sidekiq cannot run on a Redis Cluster (VERK_REDIS_CLUSTER is set): its scripts span slots\n',
    )
  }, 30_000)
})
