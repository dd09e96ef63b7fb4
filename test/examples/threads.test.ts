/**
 * The README's worker-thread example (threads.ts, threadWorkers.ts) runs as written: on the test
 * Redis (REDIS_URL, a namespace of its own) a node of two worker threads runs a CPU-bound job and
 * its caller gets the job's result back, computed in a thread; then it exits.
 */
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { resolve } from "node:path"
import { assert, it } from "vitest"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"

const root = resolve(import.meta.dirname, "../..")

it("threads.ts runs a job in a worker thread and gets its result, then exits", { timeout: 30_000 }, async () => {
  const namespace = uniqueNamespace()
  const child = spawn(
    resolve(root, "node_modules/.bin/node"),
    ["--conditions=@verk/source", "test/examples/threads.ts"],
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
    let digest = "hunter2"
    for (let round = 0; round < 20_000; round++) digest = createHash("sha256").update(digest).digest("hex")
    assert.include(output, `digest ${digest}`)
  } finally {
    child.kill("SIGKILL")
    await deleteNamespace(redisUrl(), namespace)
  }
})
