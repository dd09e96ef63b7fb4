/**
 * `verk run --health-port`: GET /healthz answers 200 with the node's health while it works, and 503
 * once its heartbeat can no longer reach Redis (the server is stopped), or while a job blocks the
 * event loop past the limit (the probe is answered by a thread of its own), for a supervisor to act on.
 */
import { createServer } from "node:net"
import { assert, it } from "vitest"
import { freePort, sleep, startRedisServer } from "../support/redisServer.ts"
import { fixture, startVerk, verk } from "./support.ts"

const get = async (url: string) => {
  const response = await fetch(url)
  return { status: response.status, body: (await response.json()) as { healthy: boolean; nodeId: string } }
}

it("serves /healthz: 200 while healthy, 503 once Redis is gone", { timeout: 30_000 }, async () => {
  const server = await startRedisServer()
  try {
    const port = await freePort()
    const worker = startVerk(["run", "test/examples/workers.ts", "--health-port", String(port)], {
      REDIS_URL: server.url,
      VERK_HEARTBEAT_INTERVAL: "200ms",
    })
    await worker.waitFor(`serving /healthz on http://127.0.0.1:${port}`)
    await worker.waitFor("worker process ready")
    const healthy = await get(`http://127.0.0.1:${port}/healthz`)
    assert.strictEqual(healthy.status, 200)
    assert.isTrue(healthy.body.healthy)
    assert.strictEqual((await fetch(`http://127.0.0.1:${port}/elsewhere`)).status, 404)

    await server.stop()
    // Unhealthy once two heartbeat intervals pass without a beat reaching Redis.
    const deadline = Date.now() + 10_000
    let last = healthy
    while (last.status === 200 && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 100))
      last = await get(`http://127.0.0.1:${port}/healthz`)
    }
    assert.strictEqual(last.status, 503)
    assert.isFalse(last.body.healthy)
    assert.strictEqual(last.body.nodeId, healthy.body.nodeId)
  } finally {
    await server.stop()
  }
})

interface Answer {
  readonly status: number
  readonly body: { healthy: boolean; reason?: string; eventLoop: { blockedMillis: number; limitMillis: number } }
}

/** One probe, as a supervisor's: an answer within a second, or the test fails (a timeout throws). */
const probe = async (url: string): Promise<Answer> => {
  const response = await fetch(url, { signal: AbortSignal.timeout(1_000) })
  return { status: response.status, body: (await response.json()) as Answer["body"] }
}

it("answers 503 while a job blocks the event loop past 3 heartbeats, 200 after, and logs the job", {
  timeout: 40_000,
}, async () => {
  const server = await startRedisServer()
  try {
    const port = await freePort()
    const url = `http://127.0.0.1:${port}/healthz`
    const env = { REDIS_URL: server.url, VERK_HEARTBEAT_INTERVAL: "1s" }
    const worker = startVerk(["run", fixture("blockingJob.ts"), "--health-port", String(port)], env)
    await worker.waitFor(`serving /healthz on http://127.0.0.1:${port} (503 once the event loop is blocked for 3s)`)
    await worker.waitFor("worker process ready")
    const before = await probe(url)
    assert.strictEqual(before.status, 200)
    assert.strictEqual(before.body.eventLoop.limitMillis, 3_000)

    // 4 heartbeats of a synchronous loop: past the limit of 3 for 1 s.
    const enqueued = await verk(["enqueue", "BlockLoop", "[4000]"], env)
    const jid = enqueued.stdout.trim()
    await worker.waitFor("blocking the event loop for 4000 ms")
    const answers: Array<Answer> = []
    while (!worker.stdout().includes("loop free again")) {
      const answer = await probe(url)
      answers.push(answer)
      if (answer.status === 503) break
      await sleep(100)
    }
    const blocked = answers.at(-1)
    assert.strictEqual(blocked?.status, 503, JSON.stringify(answers))
    assert.isFalse(blocked?.body.healthy)
    assert.match(blocked?.body.reason ?? "", /^event loop blocked for \d+ ms$/)
    assert.isAbove(blocked?.body.eventLoop.blockedMillis ?? 0, 3_000)
    // The health thread's line, written while the loop is still blocked.
    await worker.waitFor(/WARN \(health thread\): event loop blocked for \d+ ms \(limit 3000 ms\)/)
    assert.notInclude(worker.stdout(), "loop free again", "the block was over before the thread logged it")

    await worker.waitFor("loop free again")
    let after = await probe(url)
    const deadline = Date.now() + 10_000
    while (after.status !== 200 && Date.now() < deadline) {
      await sleep(100)
      after = await probe(url)
    }
    assert.strictEqual(after.status, 200)
    assert.isTrue(after.body.healthy)
    // The main thread's line once it runs again: how long, and the job that was running.
    await worker.waitFor(
      new RegExp(
        `event loop was blocked for \\d+ ms \\(limit 3000 ms\\) while running BlockLoop \\(jid ${jid}, queue default\\)`,
      ),
    )
  } finally {
    await server.stop()
  }
})

it("takes the limit from --loop-blocked-limit over VERK_LOOP_BLOCKED_LIMIT, and refuses a bad one", {
  timeout: 30_000,
}, async () => {
  const server = await startRedisServer()
  try {
    const env = { REDIS_URL: server.url, VERK_LOOP_BLOCKED_LIMIT: "1500ms" }
    for (const [flag, limitMillis] of [[[], 1_500] as const, [["--loop-blocked-limit", "2s"], 2_000] as const]) {
      const port = await freePort()
      const worker = startVerk(["run", fixture("blockingJob.ts"), "--health-port", String(port), ...flag], env)
      await worker.waitFor("worker process ready")
      const answer = await probe(`http://127.0.0.1:${port}/healthz`)
      assert.strictEqual(answer.status, 200)
      assert.strictEqual(answer.body.eventLoop.limitMillis, limitMillis)
      worker.child.kill("SIGTERM")
      assert.strictEqual((await worker.exited).code, 0)
    }
    const bad = await verk(["run", fixture("blockingJob.ts"), "--health-port", String(await freePort())], {
      ...env,
      VERK_LOOP_BLOCKED_LIMIT: "soon",
    })
    assert.strictEqual(bad.code, 1)
    assert.include(bad.stderr, "VERK_LOOP_BLOCKED_LIMIT")
  } finally {
    await server.stop()
  }
})

it("fails at start, exit 1, when the health port is taken", { timeout: 30_000 }, async () => {
  const server = await startRedisServer()
  const taken = createServer()
  try {
    const port = await freePort()
    await new Promise<void>((listening) => taken.listen(port, "127.0.0.1", listening))
    const ran = await verk(["run", fixture("blockingJob.ts"), "--health-port", String(port)], { REDIS_URL: server.url })
    assert.strictEqual(ran.code, 1)
    assert.include(ran.stderr, `verk: cannot serve /healthz on 127.0.0.1:${port}: Error: listen EADDRINUSE`)
  } finally {
    taken.close()
    await server.stop()
  }
})
