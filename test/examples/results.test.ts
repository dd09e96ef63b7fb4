/**
 * The README's results example (results.ts) runs as written: on the test Redis (REDIS_URL, a
 * namespace of its own) it waits for one job's typed result and for another job's typed death,
 * then exits; the result is in Redis under its documented key.
 */
import { spawn } from "node:child_process"
import { resolve } from "node:path"
import { Redis } from "ioredis"
import { assert, it } from "vitest"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"

const root = resolve(import.meta.dirname, "../..")

it("results.ts gets a job's typed result and another's typed error, then exits", { timeout: 30_000 }, async () => {
  const namespace = uniqueNamespace()
  const child = spawn(
    resolve(root, "node_modules/.bin/node"),
    ["--conditions=@verk/source", "test/examples/results.ts"],
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
    assert.include(output, "tea x3: 750 cents")
    assert.include(output, "out of stock: gone")
    const redis = new Redis(redisUrl())
    try {
      const keys = await redis.keys(`${namespace}:verk:result:*`)
      assert.strictEqual(keys.length, 2, output)
      const records = (await Promise.all(keys.map((key) => redis.get(key)))).map((text) => JSON.parse(text ?? "null"))
      assert.sameDeepMembers(records, [
        { status: "succeeded", value: { sku: "tea", cents: 750 } },
        {
          status: "died",
          errorClass: "OutOfStock",
          message: records.find((record) => record.status === "died")?.message,
          error: { _tag: "OutOfStock", sku: "gone" },
        },
      ])
      // Kept for the worker's `keepResult` (1 hour).
      const ttl = await redis.pttl(keys[0] ?? "")
      assert.isTrue(ttl > 3_500_000 && ttl <= 3_600_000, `ttl ${ttl}`)
    } finally {
      redis.disconnect()
    }
  } finally {
    child.kill("SIGKILL")
    await deleteNamespace(redisUrl(), namespace)
  }
})
