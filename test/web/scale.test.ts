/**
 * Verk Web at scale (issue 19): a `verk run --web-port` node, running jobs, on a Redis whose dead
 * set holds 50,000 jobs, answers twelve concurrent filtered pages (three rounds, as the pages'
 * refresh would) without starving its own heartbeat: the heartbeat key the node writes stays
 * fresh (under 7 s old, never expired, so no other node could take it for dead and recover it),
 * each filtered first page answers within 1 s, and the process stays under 250 MB of RSS.
 * Filters scan the set with a cursor in bounded steps (Admin.setJobs), so none of this depends on
 * the set's size.
 */
import { readFileSync } from "node:fs"
import { Redis } from "ioredis"
import { assert, it } from "vitest"
import { startVerk } from "../cli/support.ts"
import { uniqueNamespace } from "../support/redis.ts"
import { freePort, startRedisServer } from "../support/redisServer.ts"

const DeadJobs = 50_000
const now = () => Date.now() / 1000

/** A dead job as Sidekiq keeps it (about 700 bytes): one in five a Mailer, three of them Rare. */
const deadJob = (n: number) =>
  JSON.stringify({
    class: n % 5 === 0 ? "Mailer" : [7, 20_007, 40_007].includes(n) ? "Rare" : "Billing",
    queue: n % 5 === 0 ? "mail" : "billing",
    args: [`account-${n}`, n, { note: "x".repeat(120) }],
    jid: `dead${n.toString(16).padStart(20, "0")}`,
    retry: true,
    created_at: 1_790_000_000 + n,
    failed_at: 1_790_000_100 + n,
    retry_count: 25,
    error_class: "Net::ReadTimeout",
    error_message: `timed out reading from upstream ${n}`,
    error_backtrace: Array.from({ length: 8 }, (_, line) => `app/services/upstream.rb:${line + 10}:in 'call'`),
  })

const rssMegabytes = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((text) => text.startsWith("VmRSS:"))
  return Number(/(\d+)/.exec(line ?? "")?.[1] ?? 0) / 1024
}

it("12 concurrent filtered pages of a 50,000-job dead set keep a busy node's heartbeat fresh", {
  timeout: 90_000,
}, async () => {
  const server = await startRedisServer()
  const redis = new Redis(server.url)
  const namespace = uniqueNamespace()
  const key = (name: string) => `${namespace}:${name}`
  const timers: Array<NodeJS.Timeout> = []
  try {
    // The set, filled in pipelined batches of 1,000.
    const pipeline = redis.pipeline()
    for (let start = 0; start < DeadJobs; start += 1000) {
      const batch: Array<string> = []
      for (let n = start; n < start + 1000; n++) batch.push(String(1_790_000_100 + n), deadJob(n))
      pipeline.zadd(key("dead"), ...batch)
    }
    await pipeline.exec()
    assert.strictEqual(await redis.zcard(key("dead")), DeadJobs)

    const port = await freePort()
    const node = startVerk(["run", "test/examples/workers.ts", "--web-port", String(port)], {
      REDIS_URL: server.url,
      VERK_NAMESPACE: namespace,
      VERK_HEARTBEAT_INTERVAL: "1s",
      VERK_POLL_INTERVAL: "200ms",
      VERK_MAX_DEAD_JOBS: String(DeadJobs * 2),
      VERK_LOG_LEVEL: "warning",
    })
    await node.waitFor(`Verk Web on http://127.0.0.1:${port}/`, 30_000)
    await node.waitFor("worker process ready", 30_000)
    const pid = node.child.pid ?? 0
    const [identity] = await redis.smembers(key("processes"))
    assert.isDefined(identity)
    const base = `http://127.0.0.1:${port}`

    // Jobs keep coming while the dashboard is read: 40 every 100 ms.
    let pushed = 0
    timers.push(
      setInterval(() => {
        const jobs = Array.from({ length: 40 }, () => {
          pushed++
          return JSON.stringify({
            class: "CreditAccount",
            queue: "default",
            args: ["acct-1", 1],
            jid: `live${pushed}`,
            created_at: now(),
            enqueued_at: now(),
          })
        })
        void redis.lpush(key("queue:default"), ...jobs)
      }, 100),
    )
    // The heartbeat's age (its key holds the beat's epoch seconds) and the process's RSS, sampled.
    const ages: Array<number> = []
    let expired = 0
    let rss = rssMegabytes(pid)
    timers.push(
      setInterval(() => {
        rss = Math.max(rss, rssMegabytes(pid))
        void redis.get(key(`verk:node:${identity}`)).then((beat) => {
          if (beat === null) expired++
          else ages.push(now() - Number(beat))
        })
      }, 200),
    )
    const processedBefore = Number((await redis.get(key("stat:processed"))) ?? 0)

    const filters = ["Mailer", "Rare", "Billing", "Nobody"]
    // One request of each kind first, unmeasured: the process's first pages compile its code paths.
    for (const path of ["/dead", "/dead?class=Mailer", "/dead?class=Nobody"]) {
      assert.strictEqual((await fetch(`${base}${path}`)).status, 200)
    }
    const timings: Array<{ filter: string; millis: number }> = []
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        Array.from({ length: 12 }, async (_, n) => {
          const filter = filters[n % filters.length]!
          const started = performance.now()
          const response = await fetch(`${base}/dead?class=${filter}`)
          const html = await response.text()
          timings.push({ filter, millis: performance.now() - started })
          assert.strictEqual(response.status, 200)
          assert.include(html, "data-filtered")
          if (filter === "Mailer") assert.include(html, "more may match")
        }),
      )
    }
    // A job page by jid, and one by the reference a filtered page links to.
    const jobPage = await fetch(`${base}/dead/${"dead".concat((45_000).toString(16).padStart(20, "0"))}`)
    assert.strictEqual(jobPage.status, 200)
    const api = (await (await fetch(`${base}/api/sets/dead?class=Mailer&size=5`)).json()) as {
      jobs: Array<{ ref: string; class: string }>
      next?: string
    }
    assert.strictEqual(api.jobs.length, 5)
    assert.isTrue(api.jobs.every((job) => job.class === "Mailer"))
    assert.isString(api.next)
    const byRef = await fetch(`${base}/api/sets/dead/jobs/${encodeURIComponent(api.jobs[0]!.ref)}`)
    assert.strictEqual(byRef.status, 200)
    // The continue link's cursor gives the next matches, none of the first page's.
    const more = (await (
      await fetch(`${base}/api/sets/dead?class=Mailer&size=5&cursor=${encodeURIComponent(api.next ?? "")}`)
    ).json()) as { jobs: Array<{ ref: string }> }
    assert.strictEqual(more.jobs.length, 5)
    assert.isTrue(more.jobs.every((job) => !api.jobs.some((first) => first.ref === job.ref)))

    // Following `next` from the start reaches every Rare job, each once, and then ends.
    const rare: Array<string> = []
    let cursor: string | undefined = ""
    for (let requests = 0; cursor !== undefined; requests++) {
      assert.isBelow(requests, 500, "the continue chain ends")
      const pageOf = (await (
        await fetch(`${base}/api/sets/dead?class=Rare&cursor=${encodeURIComponent(cursor)}`)
      ).json()) as { jobs: Array<{ jid: string }>; next?: string | null }
      rare.push(...pageOf.jobs.map((job) => job.jid))
      cursor = pageOf.next ?? undefined
    }
    assert.sameMembers(
      rare,
      [7, 20_007, 40_007].map((n) => `dead${n.toString(16).padStart(20, "0")}`),
    )

    // The node ran jobs meanwhile, and beats on: a beat written after the load is the fence for
    // the samples above (every sample up to it was taken).
    const lastBeat = await redis.get(key(`verk:node:${identity}`))
    const deadline = Date.now() + 15_000
    while ((await redis.get(key(`verk:node:${identity}`))) === lastBeat) {
      assert.isBelow(Date.now(), deadline, "the node beats again after the load")
      await new Promise((done) => setTimeout(done, 100))
    }
    for (const timer of timers) clearInterval(timer)
    const processed = Number((await redis.get(key("stat:processed"))) ?? 0) - processedBefore
    const slowest = Math.max(...timings.map((timing) => timing.millis))
    const oldest = Math.max(...ages)
    console.log(
      `scale: slowest filtered page ${slowest.toFixed(0)} ms, oldest heartbeat ${oldest.toFixed(1)} s, max RSS ${rss.toFixed(0)} MB, ${processed} jobs processed, ${ages.length} heartbeat samples`,
    )
    assert.isAbove(processed, 0, "the node ran jobs during the load")
    assert.strictEqual(expired, 0, "the heartbeat key never expired")
    assert.isBelow(oldest, 7)
    assert.deepStrictEqual(await redis.smembers(key("processes")), [identity])
    for (const { filter, millis } of timings) assert.isBelow(millis, 1000, `class=${filter}`)
    assert.isBelow(rss, 250)
    assert.strictEqual(await redis.zcard(key("dead")), DeadJobs)
  } finally {
    for (const timer of timers) clearInterval(timer)
    redis.disconnect()
    await server.stop()
  }
})
