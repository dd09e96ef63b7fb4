/**
 * `verk run --health-port`: GET /healthz answers 200 with the node's health while it works, and 503
 * once its heartbeat can no longer reach Redis (the server is stopped), for a supervisor to act on.
 */
import { assert, it } from "vitest"
import { freePort, startRedisServer } from "../support/redisServer.ts"
import { startVerk } from "./support.ts"

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
