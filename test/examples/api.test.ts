/**
 * The README's HTTP app (api.ts, shown under Bundling) runs as written: on the test Redis (REDIS_URL,
 * a namespace of its own) and a free PORT, a POST /credit answers 202 with the jid of a CreditAccount
 * job now in the `default` queue, and a body that is not a credit answers 400 and writes nothing.
 * test/packaging runs the same file bundled by the README's esbuild command.
 */
import { spawn } from "node:child_process"
import { createServer } from "node:net"
import { resolve } from "node:path"
import { Redis } from "ioredis"
import { assert, it } from "vitest"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"

const root = resolve(import.meta.dirname, "../..")

/** A port nothing listens on now (the app's Config.Port refuses 0). */
const freePort = () =>
  new Promise<number>((done, fail) => {
    const probe = createServer()
    probe.once("error", fail)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => (typeof address === "object" && address !== null ? done(address.port) : fail(address)))
    })
  })

it("api.ts answers a POST /credit with the jid of the job it put in Redis, and a bad body with 400", {
  timeout: 30_000,
}, async () => {
  const namespace = uniqueNamespace()
  const port = await freePort()
  const child = spawn(resolve(root, "node_modules/.bin/node"), ["--conditions=@verk/source", "test/examples/api.ts"], {
    cwd: root,
    env: { ...process.env, REDIS_URL: redisUrl(), VERK_NAMESPACE: namespace, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  })
  let output = ""
  const listening = new Promise<void>((done, fail) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes("Listening on")) done()
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.on("exit", (code) => fail(new Error(`api.ts exited (${code}):\n${output}`)))
  })
  const redis = new Redis(redisUrl())
  try {
    await listening
    const post = (body: string) =>
      fetch(`http://127.0.0.1:${port}/credit`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      })
    const accepted = await post(JSON.stringify({ account: "acct-3", cents: 120 }))
    assert.strictEqual(accepted.status, 202, output)
    const { jid } = (await accepted.json()) as { jid: string }
    assert.strictEqual((await post('{"account":"acct-3"}')).status, 400)
    assert.strictEqual((await post("not json")).status, 400)
    // The refused requests came after the accepted one: the queue holds everything that was written.
    const jobs = (await redis.lrange(`${namespace}:queue:default`, 0, -1)).map((job) => JSON.parse(job))
    assert.deepStrictEqual(
      jobs.map((job) => [job.jid, job.class, job.args]),
      [[jid, "CreditAccount", ["acct-3", 120]]],
    )
  } finally {
    redis.disconnect()
    child.kill("SIGKILL")
    await deleteNamespace(redisUrl(), namespace)
  }
})
