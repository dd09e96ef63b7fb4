/**
 * Acceptance (issue 21, job results): 1,000 `Client.enqueueAndWait` calls from another process (a
 * real child, caller.ts) each get their own job's typed result, the jobs running in this process,
 * on a real Redis in both key schemes. The waits hear the store's notices (one subscription in the
 * caller), they do not poll.
 */
import { spawn } from "node:child_process"
import { resolve } from "node:path"
import { Effect, Layer } from "effect"
import { assert, describe, it } from "vitest"
import * as Verk from "../../packages/core/src/Verk.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { cleanupNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { Square } from "./squareWorker.ts"

const root = resolve(import.meta.dirname, "../..")
const nodeBinary = resolve(root, "node_modules/.bin/node")
const caller = resolve(import.meta.dirname, "caller.ts")
const Calls = 1_000

/** Runs caller.ts to its end; its one JSON line of output, or a failure with everything it said. */
const runCaller = (env: Record<string, string>) =>
  new Promise<{ calls: number; ok: number; problems: ReadonlyArray<string> }>((done, fail) => {
    const child = spawn(nodeBinary, ["--conditions=@verk/source", caller], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.once("exit", (code) => {
      const line = output.split("\n").find((text) => text.startsWith("{"))
      if (code === 0 && line !== undefined) done(JSON.parse(line))
      else fail(new Error(`caller exited with ${code}:\n${output.slice(-4_000)}`))
    })
  })

describe.each(["sidekiq", "cluster"] as const)("key scheme %s", (keyScheme) => {
  it(`${Calls} enqueueAndWait calls from another process each get their job's typed result`, async () => {
    const url = redisUrl()
    const namespace = uniqueNamespace()
    const node = Verk.layer({
      workers: [Square],
      queues: { squares: 25 },
      logLevels: { start: "None", done: "None" },
    }).pipe(
      Layer.provideMerge(
        Layer.merge(RedisStore.layer({ url, namespace, keyScheme }), cleanupNamespace(url, namespace)),
      ),
    )
    const report = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          yield* Layer.build(node)
          return yield* Effect.promise(() =>
            runCaller({
              REDIS_URL: url,
              VERK_NAMESPACE: namespace,
              VERK_KEY_SCHEME: keyScheme,
              RESULT_CALLS: String(Calls),
            }),
          )
        }),
      ),
    )
    assert.deepStrictEqual(report, { calls: Calls, ok: Calls, problems: [] })
  }, 120_000)
})
