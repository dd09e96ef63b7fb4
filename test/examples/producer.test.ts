/**
 * The README's producer example (producer.ts) runs as written: on the test Redis (REDIS_URL, a
 * namespace of its own) it enqueues one CreditAccount job to the `default` queue and exits, with no
 * worker running in its process (no node registers).
 */
import { spawn } from "node:child_process"
import { resolve } from "node:path"
import { Redis } from "ioredis"
import { assert, it } from "vitest"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"

const root = resolve(import.meta.dirname, "../..")

it("producer.ts enqueues a CreditAccount job to its queue and exits, running nothing", {
  timeout: 30_000,
}, async () => {
  const namespace = uniqueNamespace()
  const child = spawn(
    resolve(root, "node_modules/.bin/node"),
    ["--conditions=@verk/source", "test/examples/producer.ts"],
    {
      cwd: root,
      env: { ...process.env, REDIS_URL: redisUrl(), VERK_NAMESPACE: namespace },
      stdio: ["ignore", "pipe", "pipe"],
    },
  )
  let output = ""
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
  try {
    const code = await new Promise<number | null>((done) => child.on("exit", (exit) => done(exit)))
    assert.strictEqual(code, 0, output)
    assert.match(output, /enqueued CreditAccount \S+ on default/)
    const redis = new Redis(redisUrl())
    try {
      const jobs = await redis.lrange(`${namespace}:queue:default`, 0, -1)
      assert.strictEqual(jobs.length, 1, output)
      const job = JSON.parse(jobs[0] ?? "null")
      assert.strictEqual(job.class, "CreditAccount")
      assert.strictEqual(job.queue, "default")
      assert.deepStrictEqual(job.args, ["acct-1", 250])
      assert.deepStrictEqual(await redis.smembers(`${namespace}:queues`), ["default"])
      assert.deepStrictEqual(await redis.smembers(`${namespace}:verk_nodes`), [], "no worker ran here")
    } finally {
      redis.disconnect()
    }
  } finally {
    child.kill("SIGKILL")
    await deleteNamespace(redisUrl(), namespace)
  }
})
