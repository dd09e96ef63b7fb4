/**
 * Verk Web from the command line: `verk web` on its own (with VERK_WEB_TOKEN), and
 * `verk run --web-port` beside a worker, whose node the dashboard lists; a port already taken is
 * one line.
 */
import { createServer } from "node:net"
import { assert, it } from "vitest"
import { freePort, startRedisServer } from "../support/redisServer.ts"
import { startVerk, verk } from "./support.ts"

it("verk web serves the dashboard on 127.0.0.1 and refuses a request without VERK_WEB_TOKEN", {
  timeout: 30_000,
}, async () => {
  const server = await startRedisServer()
  try {
    const port = await freePort()
    const web = startVerk(["web", "--port", String(port)], { REDIS_URL: server.url, VERK_WEB_TOKEN: "t0ken" })
    await web.waitFor(`Verk Web on http://127.0.0.1:${port}/ (token required)`)
    const base = `http://127.0.0.1:${port}`
    assert.strictEqual((await fetch(`${base}/`)).status, 401)
    const overview = await fetch(`${base}/api/overview`, { headers: { authorization: "Bearer t0ken" } })
    assert.strictEqual(overview.status, 200)
    assert.include(await overview.json(), { processed: 0, enqueued: 0 })
    const page = await fetch(`${base}/queues`, { headers: { authorization: "Bearer t0ken" } })
    assert.include(await page.text(), "<h1>Queues</h1>")
  } finally {
    await server.stop()
  }
})

it("verk run --web-port serves the dashboard beside the worker, which it lists as a node", {
  timeout: 30_000,
}, async () => {
  const server = await startRedisServer()
  try {
    const port = await freePort()
    const worker = startVerk(["run", "test/examples/workers.ts", "--web-port", String(port)], {
      REDIS_URL: server.url,
    })
    await worker.waitFor(`Verk Web on http://127.0.0.1:${port}/`)
    await worker.waitFor("worker process ready")
    const nodes = (await (await fetch(`http://127.0.0.1:${port}/api/nodes`)).json()) as Array<{ pid: number }>
    assert.deepStrictEqual(
      nodes.map((node) => node.pid),
      [worker.child.pid],
    )
  } finally {
    await server.stop()
  }
})

it("verk web on a port already taken fails with one line", { timeout: 30_000 }, async () => {
  const server = await startRedisServer()
  const taken = createServer()
  try {
    const port = await freePort()
    await new Promise<void>((done) => taken.listen(port, "127.0.0.1", done))
    const { code, stderr } = await verk(["web", "--port", String(port)], { REDIS_URL: server.url })
    assert.strictEqual(code, 1)
    assert.match(stderr.trim(), new RegExp(`^verk: cannot serve Verk Web on 127.0.0.1:${port}: .*EADDRINUSE`))
    assert.notInclude(stderr.trim(), "\n")
  } finally {
    taken.close()
    await server.stop()
  }
})
