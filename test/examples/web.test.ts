/**
 * The README's Verk Web example (web.ts) runs as written: the application's own route and the
 * dashboard mounted under /verk answer on one server, reading the test Redis.
 */
import { spawn } from "node:child_process"
import { resolve } from "node:path"
import { assert, it } from "vitest"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { freePort } from "../support/redisServer.ts"

const root = resolve(import.meta.dirname, "../..")

it("web.ts serves its own route and the dashboard under /verk", { timeout: 30_000 }, async () => {
  const namespace = uniqueNamespace()
  const port = await freePort()
  const child = spawn(resolve(root, "node_modules/.bin/node"), ["--conditions=@verk/source", "test/examples/web.ts"], {
    cwd: root,
    env: { ...process.env, REDIS_URL: redisUrl(), VERK_NAMESPACE: namespace, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  })
  let output = ""
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<void>((done) => child.on("exit", () => done()))
  try {
    const base = `http://127.0.0.1:${port}`
    const deadline = Date.now() + 20_000
    let home: Response | undefined
    while (home === undefined) {
      try {
        home = await fetch(`${base}/`)
      } catch (error) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`web.ts never answered:\n${output}`, { cause: error })
        await new Promise((done) => setTimeout(done, 100))
      }
    }
    assert.strictEqual(await home.text(), "my app")
    const dashboard = await fetch(`${base}/verk/`)
    assert.strictEqual(dashboard.status, 200, output)
    assert.include(await dashboard.text(), "<html")
    const queues = await fetch(`${base}/verk/api/queues`)
    assert.strictEqual(queues.status, 200, output)
  } finally {
    child.kill("SIGTERM")
    await exited
    await deleteNamespace(redisUrl(), namespace)
  }
})
