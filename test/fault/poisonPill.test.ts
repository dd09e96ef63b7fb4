/**
 * A poison pill: a `Crash` job kills (SIGKILL) every process that runs it. Worker processes are
 * started one after another, each with a fresh generated node id; each recovers the previous,
 * dead one and runs the pill again, until the pill has come back from dead nodes more than
 * VERK_MAX_RECOVERIES (default 3) times and goes to `dead`, marked as a poison pill. The Record
 * jobs enqueued alongside must all be processed, and none of them may be taken for the pill.
 *
 * A job runs alone only once it came back a second time (Isolation.ts), so the pill kills its first
 * two nodes in company: the records beside it come back once or twice, never more (from then on
 * the pill, and any record that came back twice, runs alone).
 */
import { describe, expect, it } from "vitest"
import { enqueueMany, parse, privateRedis, runCounts, sleep, waitUntil, withWorkers } from "./support.ts"
import { Crash, Record } from "./workers.ts"

const MaxRecoveries = 3
const Records = 40
const MaxProcesses = 8

const local = privateRedis()

describe("a poison pill", () => {
  it("goes to dead after the recovery limit, and the jobs around it are all processed", async () => {
    const workers = withWorkers()
    const before = await enqueueMany(
      local.server.url,
      Record,
      Array.from({ length: Records / 2 }, (_, n) => [n] as const),
    )
    const [pill] = await enqueueMany(local.server.url, Crash, [[0]])
    const after = await enqueueMany(
      local.server.url,
      Record,
      Array.from({ length: Records / 2 }, (_, n) => [n] as const),
    )
    const records = [...before, ...after]

    // Settled: the pill is dead, every dead entry says why (recovery moves a poison pill to dead,
    // then annotates it in a second step), the queue is empty and nothing is in progress anywhere.
    const finished = async () => {
      const dead = (await local.redis.zrange("dead", "0", "-1")).map(parse)
      if (!dead.some((job) => job.jid === pill) || dead.some((job) => job.error_class === undefined)) return false
      if ((await local.redis.llen("queue:default")) > 0) return false
      for (const key of await local.redis.keys("inprogress:*")) if ((await local.redis.hlen(key)) > 0) return false
      return true
    }

    const crashes: Array<string> = []
    let last: ReturnType<typeof workers.spawn> | undefined
    for (let n = 0; n < MaxProcesses && !(await finished()); n++) {
      last = workers.spawn({ url: local.server.url, queues: "default:5" })
      const id = await last.ready()
      const worker = last
      // Until this process dies of the pill, or everything has settled.
      const deadline = Date.now() + 20_000
      while (worker.running() && !(await finished())) {
        if (Date.now() > deadline) throw new Error(`${worker.name} neither crashed nor finished in 20 s`)
        await sleep(50)
      }
      const outcome = worker.running() ? "finished" : "crashed"
      if (outcome === "crashed") {
        expect((await worker.exited).signal).toBe("SIGKILL")
        crashes.push(id)
        // Let it die completely before the next one starts.
        await sleep(10)
      }
    }

    const runs = await runCounts(local.redis)
    const dead = (await local.redis.zrange("dead", "0", "-1")).map(parse)
    const done = new Set(await local.redis.smembers("done"))
    const recordRuns = records.map((jid) => runs.get(jid) ?? 0)
    console.log(
      `poison pill: ${crashes.length} processes killed by it, pill ran ${runs.get(pill!) ?? 0} times, ` +
        `dead: ${JSON.stringify(dead.map((job) => [job.class, job.error_class, job.args]))}, ` +
        `records done ${records.filter((jid) => done.has(jid)).length}/${records.length}, ` +
        `record runs > 1: ${JSON.stringify(recordRuns.filter((count) => count > 1))}`,
    )

    expect(crashes.length, "processes killed: one per run of the pill").toBe(MaxRecoveries + 1)
    expect(runs.get(pill!), "the pill ran once, then once per recovery").toBe(MaxRecoveries + 1)
    expect(
      dead.map((job) => `${job.class} ${job.jid}`),
      "only the pill is dead: the jobs fetched beside it must not be taken for it",
    ).toEqual([`Crash ${pill}`])
    const [entry] = dead
    expect(entry?.class).toBe("Crash")
    expect(entry?.error_class).toBe("PoisonPill")
    expect(entry?.error_message).toMatch(/poison pill/i)
    expect(
      records.filter((jid) => !done.has(jid)),
      "records never processed",
    ).toEqual([])
    // A record in flight at a crash runs again; it may share two crashes with the pill (the pill
    // is no suspect before it came back twice), not more: it must not follow the pill crash after crash.
    expect(Math.max(...recordRuns), "most runs of one record").toBeLessThanOrEqual(3)
    const recoveries = Object.entries(await local.redis.hgetall("verk:recovered"))
    expect(
      recoveries.filter(([raw, count]) => parse(raw).jid === pill || Number(count) > 2),
      "no record came back more than twice; the pill's count is forgotten once it is dead",
    ).toEqual([])
    expect(await local.redis.llen("queue:default")).toBe(0)

    // Every dead process was recovered and forgotten; the last one is alive and leaves cleanly.
    const lastId = await last!.ready()
    expect(last!.running()).toBe(true)
    await waitUntil(
      "only the live node registered",
      async () => {
        const nodes = await local.redis.smembers("verk_nodes")
        return nodes.length === 1 && nodes[0] === lastId
      },
      5_000,
    )
    last!.kill("SIGTERM")
    expect((await last!.exited).code).toBe(0)
  }, 90_000)
})
