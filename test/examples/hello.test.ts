/**
 * The README's first example (hello.ts) runs as written: on the test Redis (REDIS_URL, a namespace of
 * its own) it enqueues a job and runs it, and SIGTERM shuts it down.
 */
import { spawn } from "node:child_process"
import { resolve } from "node:path"
import { Redis } from "ioredis"
import { assert, it } from "vitest"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"

const root = resolve(import.meta.dirname, "../..")

it("hello.ts runs its job on Redis, then stops on SIGTERM", { timeout: 30_000 }, async () => {
  const namespace = uniqueNamespace()
  const child = spawn(
    resolve(root, "node_modules/.bin/node"),
    ["--conditions=@verk/source", "test/examples/hello.ts"],
    {
      cwd: root,
      env: { ...process.env, REDIS_URL: redisUrl(), VERK_NAMESPACE: namespace },
      stdio: ["ignore", "pipe", "pipe"],
    },
  )
  let output = ""
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)))
  try {
    await new Promise<void>((done, fail) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes("mail ada@example.com: Welcome")) done()
      }
      child.stdout.on("data", onData)
      child.stderr.on("data", onData)
      child.on("exit", (code) => fail(new Error(`hello.ts exited (${code}) before its job ran:\n${output}`)))
    })
    child.kill("SIGTERM")
    // 130: NodeRuntime.runMain's code for an interrupted program. Graceful: the node deregistered.
    assert.strictEqual(await exited, 130, output)
    const redis = new Redis(redisUrl())
    try {
      assert.deepStrictEqual(await redis.smembers(`${namespace}:verk_nodes`), [])
      assert.strictEqual(await redis.zcard(`${namespace}:schedule`), 1, "the Day 2 email waits in schedule")
    } finally {
      redis.disconnect()
    }
  } finally {
    child.kill("SIGKILL")
    await deleteNamespace(redisUrl(), namespace)
  }
})
