/**
 * Failover without stalls: a node running 25 jobs is killed (SIGKILL); two live nodes recover it
 * and run its jobs side by side, not one at a time. A job that came back from one dead node is no
 * suspect yet (Isolation.ts: it runs alone only once it came back a second time), so the 25 jobs of
 * 1 s are done within a few seconds of their recovery, where running each alone took 25 s or more.
 *
 * The killed node's jobs sleep long (RECORD_SLEEP_MS is per process) so that all 25 are still in
 * flight when it dies; on the survivors they take 1 s each.
 */
import { describe, expect, it } from "vitest"
import { duplicates, enqueueMany, privateRedis, waitUntil, withWorkers } from "./support.ts"
import { Record } from "./workers.ts"

const Jobs = 25
const JobMillis = 1_000

const local = privateRedis()

describe("failover of a node running 25 jobs", () => {
  it("the survivors run the dead node's jobs side by side, done within 5 s of the recovery", async () => {
    const workers = withWorkers()
    const jids = await enqueueMany(
      local.server.url,
      Record,
      Array.from({ length: Jobs }, (_, n) => [n] as const),
    )
    const doomed = workers.spawn({
      url: local.server.url,
      queues: `default:${Jobs}`,
      extra: { RECORD_SLEEP_MS: "60000" },
    })
    const doomedId = await doomed.ready()
    await waitUntil(
      `all ${Jobs} jobs in progress on the first node`,
      async () => (await local.redis.hlen(`inprogress:default:${doomedId}`)) === Jobs,
      15_000,
    )
    const survivors = [1, 2].map(() =>
      workers.spawn({
        url: local.server.url,
        queues: `default:${Jobs}`,
        extra: { RECORD_SLEEP_MS: String(JobMillis) },
      }),
    )
    for (const survivor of survivors) await survivor.ready()
    expect(await local.redis.llen("queue:default"), "the survivors found nothing to take").toBe(0)

    doomed.kill("SIGKILL")
    const killedAt = Date.now()
    expect((await doomed.exited).signal).toBe("SIGKILL")
    expect(await local.redis.scard("done"), "nothing finished before the kill").toBe(0)

    let doneAt = 0
    await waitUntil(
      "every recovered job done",
      async () => {
        if ((await local.redis.scard("done")) < Jobs) return false
        doneAt = Date.now()
        return true
      },
      60_000,
      10,
    )
    const starts: Array<number> = []
    for (const survivor of survivors) {
      for (const at of await local.redis.hvals(`started:${survivor.pid}`)) starts.push(Number(at))
    }
    starts.sort((a, b) => a - b)
    const firstStart = starts[0]!
    const lastStart = starts[starts.length - 1]!
    const perSecond = (Jobs * 1_000) / Math.max(1, lastStart - firstStart)
    console.log(
      `failover: ${Jobs} jobs of ${JobMillis} ms recovered; first restart ${firstStart - killedAt} ms after the kill, ` +
        `all started within ${lastStart - firstStart} ms (${perSecond.toFixed(0)}/s), ` +
        `all done ${doneAt - firstStart} ms after the first restart`,
    )

    expect(starts.length, "each job ran once on the survivors").toBe(Jobs)
    expect(new Set(await local.redis.smembers("done"))).toEqual(new Set(jids))
    expect(await duplicates(local.redis), "no job ran twice after the recovery").toEqual([])
    // Side by side: one at a time, the last would start some 24 s after the first.
    expect(lastStart - firstStart, "every recovered job started within 2 s").toBeLessThan(2_000)
    expect(doneAt - firstStart, "every recovered job done within 5 s of the recovery").toBeLessThan(5_000)
    await waitUntil(
      "the dead node deregistered",
      async () => (await local.redis.sismember("verk_nodes", doomedId)) === 0,
      5_000,
    )
    expect(await local.redis.hlen("verk:recovered"), "each job counted one recovery").toBe(Jobs)
    expect(await local.redis.zcard("dead")).toBe(0)
    expect(await local.redis.zcard("retry")).toBe(0)

    for (const survivor of survivors) survivor.kill("SIGTERM")
    for (const survivor of survivors) expect((await survivor.exited).code).toBe(0)
  }, 90_000)
})
