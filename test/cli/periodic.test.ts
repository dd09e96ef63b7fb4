/**
 * Acceptance (issue 21, periodic jobs) with real `verk run` processes on the test Redis: three
 * nodes running the same every-second entries enqueue each tick exactly once (counted by the
 * ticks' deterministic jids), and `verk periodic pause` stops an entry on every node while the
 * fence entry's ticks keep arriving; `list`, `resume` and `run-now` act on the entries the nodes
 * declared.
 */
import { Redis } from "ioredis"
import { afterEach, describe, expect, it } from "vitest"
import { waitUntil } from "../fault/support.ts"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { fixture, type Process, quickEnv, startVerk, verk } from "./support.ts"

const namespaces: Array<string> = []
const clients: Array<Redis> = []
afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect()
  for (const namespace of namespaces.splice(0)) await deleteNamespace(redisUrl(), namespace)
})

const environment = () => {
  const namespace = uniqueNamespace()
  namespaces.push(namespace)
  return { ...quickEnv(redisUrl(), namespace), VERK_QUEUES: "default:1" }
}

const admin = () => {
  const client = new Redis(redisUrl())
  clients.push(client)
  return client
}

/** Three nodes running the fixture's entries, each ready. */
const startNodes = async (env: Record<string, string>): Promise<ReadonlyArray<Process>> => {
  const nodes = [0, 1, 2].map(() => startVerk(["run", fixture("periodicWorkers.ts")], env))
  for (const node of nodes) await node.waitFor("worker process ready", 45_000)
  return nodes
}

const stop = async (nodes: ReadonlyArray<Process>) => {
  for (const node of nodes) node.child.kill("SIGTERM")
  for (const node of nodes) expect((await node.exited).code).toBe(0)
}

/** The jids in a queue, oldest first. */
const jidsOf = async (redis: Redis, namespace: string, queue: string): Promise<Array<string>> =>
  (await redis.lrange(`${namespace}:queue:${queue}`, 0, -1))
    .map((raw) => (JSON.parse(raw) as { jid: string }).jid)
    .reverse()

describe("verk run with periodic entries, three nodes on one Redis", () => {
  it("each tick of a one-second entry is enqueued exactly once, for 10 ticks and more", {
    timeout: 120_000,
  }, async () => {
    const env = environment()
    const redis = admin()
    const nodes = await startNodes(env)
    // Every node is up from here: the ticks after this one are the three nodes' race.
    const allUp = Date.now()
    const ticks = async () =>
      (await jidsOf(redis, env.VERK_NAMESPACE, "ticks")).map((jid) => Number(/^periodic-tick-(\d+)$/.exec(jid)?.[1]))
    await waitUntil(
      "10 ticks after every node is up",
      async () => (await ticks()).filter((tick) => tick > allUp + 1_000).length >= 10,
      60_000,
      100,
    )
    await stop(nodes)

    const all = await ticks()
    expect(all.every((tick) => Number.isInteger(tick) && tick % 1_000 === 0)).toBe(true)
    // Exactly once: no tick twice...
    expect(new Set(all).size).toBe(all.length)
    // ...and none left out while the three ran: consecutive seconds from the first to the last.
    const window = all.filter((tick) => tick > allUp + 1_000)
    expect(window.length).toBeGreaterThanOrEqual(10)
    const first = window[0]!
    expect(window).toEqual(window.map((_, index) => first + index * 1_000))
    // Every node enqueued through the store's claim: the entry's state holds the last tick.
    expect(Number(await redis.hget(`${env.VERK_NAMESPACE}:verk:periodic:tick`, "last"))).toBe(all.at(-1))
  })

  it("verk periodic pause stops an entry on every node while the fence's ticks arrive; resume and run-now", {
    timeout: 120_000,
  }, async () => {
    const env = environment()
    const redis = admin()
    const nodes = await startNodes(env)
    await waitUntil("held ticks", async () => (await redis.llen(`${env.VERK_NAMESPACE}:queue:held`)) > 0, 30_000, 100)

    const listed = await verk(["periodic", "list"], env)
    expect(listed.code).toBe(0)
    expect(listed.stdout).toMatch(/^held\s+\* \* \* \* \* \*\s+UTC\s+Beat\s+held\s+active\s+\d{4}-/m)

    const paused = await verk(["periodic", "pause", "held"], env)
    expect(paused.stdout).toBe("paused periodic entry held\n")
    // Claims are atomic with the pause flag: nothing enqueued after the pause returned.
    const heldAtPause = await redis.llen(`${env.VERK_NAMESPACE}:queue:held`)
    const fenceAtPause = await redis.llen(`${env.VERK_NAMESPACE}:queue:fence`)
    // The fence: three more ticks of the other entry, enqueued by the same nodes.
    await waitUntil(
      "3 fence ticks after the pause",
      async () => (await redis.llen(`${env.VERK_NAMESPACE}:queue:fence`)) >= fenceAtPause + 3,
      30_000,
      100,
    )
    expect(await redis.llen(`${env.VERK_NAMESPACE}:queue:held`)).toBe(heldAtPause)
    expect((await verk(["periodic", "list"], env)).stdout).toMatch(/^held\s.*\spaused\s/m)
    const json = JSON.parse((await verk(["periodic", "list", "--json"], env)).stdout) as ReadonlyArray<{
      readonly name: string
      readonly paused: boolean
      readonly lastRun: number
      readonly nextRun: number
    }>
    expect(json.map((entry) => [entry.name, entry.paused])).toEqual([
      ["fence", false],
      ["held", true],
      ["tick", false],
    ])
    const fence = json[0]!
    expect(fence.nextRun - fence.lastRun).toBeGreaterThanOrEqual(1_000)

    // Run now: one job, paused or not, under its own jid.
    const ran = await verk(["periodic", "run-now", "held"], env)
    expect(ran.stdout).toMatch(/^asked for a run of periodic entry held \(jid periodic-held-now-\d+\)\n$/)
    await waitUntil(
      "the run-now job",
      async () => (await redis.llen(`${env.VERK_NAMESPACE}:queue:held`)) === heldAtPause + 1,
      30_000,
      100,
    )
    expect((await jidsOf(redis, env.VERK_NAMESPACE, "held")).at(-1)).toMatch(/^periodic-held-now-\d+$/)

    expect((await verk(["periodic", "resume", "held"], env)).stdout).toBe("resumed periodic entry held\n")
    await waitUntil(
      "held ticks again",
      async () => (await redis.llen(`${env.VERK_NAMESPACE}:queue:held`)) > heldAtPause + 1,
      30_000,
      100,
    )
    const unknown = await verk(["periodic", "pause", "nope"], env)
    expect(unknown.code).not.toBe(0)
    expect(unknown.stderr).toContain('No periodic entry named "nope"')
    await stop(nodes)
  })
})
