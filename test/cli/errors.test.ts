/**
 * Expected failures of the `verk` command, run as a real process: each prints one line on stderr,
 * `verk: <what went wrong>` with no stack trace, and exits 1. A defect keeps its stack.
 */
import { resolve } from "node:path"
import { describe, expect, it } from "vitest"
import { QueuesRule } from "../../packages/core/src/Settings.ts"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { fixture, root, verk } from "./support.ts"

// Nothing listens on port 1: no test here ever reaches a real Redis.
const Unreachable = "redis://127.0.0.1:1"

const expectOneLine = (result: { code: number | null; stdout: string; stderr: string }, line: string) => {
  expect(result.stderr).toBe(`${line}\n`)
  expect(result.stdout).toBe("")
  expect(result.code).toBe(1)
}

describe("verk run <module>", () => {
  it("a missing module: no such file, and where it was looked for", async () => {
    const result = await verk(["run", "./missing.ts"], { REDIS_URL: Unreachable })
    expectOneLine(result, `verk: cannot load ./missing.ts: no such file (resolved to ${resolve(root, "missing.ts")})`)
  })

  it("a module that throws while loading: its error, and the line that threw", async () => {
    const result = await verk(["run", "./test/cli/fixtures/throws.ts"], { REDIS_URL: Unreachable })
    expectOneLine(
      result,
      `verk: ./test/cli/fixtures/throws.ts threw while loading: Error: boom (at ${fixture("throws.ts")}:3:7)`,
    )
  })

  it("a module that exports no workers: NoWorkersExported, naming what it exports", async () => {
    const result = await verk(["run", "test/cli/fixtures/noWorkers.ts"], { REDIS_URL: Unreachable })
    expectOneLine(
      result,
      "verk: test/cli/fixtures/noWorkers.ts exports no workers (it exports SendEmail, answer); export values made by Worker.make, by name or as the default export (one, or an array)",
    )
  })

  it("a `layer` export that is not a Layer", async () => {
    const result = await verk(["run", "test/cli/fixtures/badLayer.ts"], { REDIS_URL: Unreachable })
    expectOneLine(
      result,
      'verk: test/cli/fixtures/badLayer.ts exports "layer", but it is an object, not a Layer (it provides the services the workers use)',
    )
  })

  it("Redis down at start: the same line as any command, before the module's services open", async () => {
    const startedAt = Date.now()
    const result = await verk(["run", "test/examples/workers.ts"], { REDIS_URL: "redis://user:secret@127.0.0.1:1" })
    expect(result.stderr).toMatch(
      /^verk: cannot connect to Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1\n$/,
    )
    expect(result.stdout).toBe("")
    expect(result.code).toBe(1)
    expect(Date.now() - startedAt).toBeLessThan(5_000)
  })

  it("a defect (a bug, here in the module's layer) keeps its stack", async () => {
    const namespace = uniqueNamespace()
    const result = await verk(["run", "test/cli/fixtures/dyingLayer.ts"], {
      REDIS_URL: redisUrl(),
      VERK_NAMESPACE: namespace,
    })
    await deleteNamespace(redisUrl(), namespace)
    expect(result.code).toBe(1)
    expect(result.stderr + result.stdout).toContain("Error: a bug in the layer")
    expect(result.stderr + result.stdout).toMatch(/\n\s+at .*dyingLayer\.ts:\d+:\d+/)
  })
})

describe("verk stats", () => {
  it("Redis refusing connections: the URL with its password masked, the reason, promptly", async () => {
    const startedAt = Date.now()
    const result = await verk(["stats"], { REDIS_URL: "redis://user:secret@127.0.0.1:1" })
    expectOneLine(
      result,
      "verk: cannot connect to Redis at redis://user:***@127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1",
    )
    expect(Date.now() - startedAt).toBeLessThan(5_000)
  })
})

describe("queue names", () => {
  const rule = 'a queue name is 1 to 128 letters, digits, "_", "-" or "."'

  it('VERK_QUEUES=":x" is refused with the rule', async () => {
    const result = await verk(["run", "test/examples/workers.ts"], { REDIS_URL: Unreachable, VERK_QUEUES: ":x" })
    expectOneLine(result, `verk: VERK_QUEUES=":x": "" is not a queue name: ${rule} (${QueuesRule})`)
  })

  it('VERK_QUEUES="a b" is refused with the rule', async () => {
    const result = await verk(["run", "test/examples/workers.ts"], { REDIS_URL: Unreachable, VERK_QUEUES: "a b" })
    expectOneLine(result, `verk: VERK_QUEUES="a b": "a b" is not a queue name: ${rule} (${QueuesRule})`)
  })

  it('verk enqueue --queue "" is refused with the rule', async () => {
    const result = await verk(["enqueue", "X", "[]", "--queue", ""], { REDIS_URL: Unreachable })
    expectOneLine(
      result,
      `verk: missing value for flag --queue: "" is not a queue name: ${rule} (see verk enqueue --help)`,
    )
  })
})

describe("settings from the environment", () => {
  it("VERK_POLL_INTERVAL=soon names the variable and what it accepts", async () => {
    const result = await verk(["run", "test/examples/workers.ts"], {
      REDIS_URL: Unreachable,
      VERK_POLL_INTERVAL: "soon",
    })
    expectOneLine(
      result,
      'verk: VERK_POLL_INTERVAL="soon": expected a duration such as 500ms, 1s, 1.5s, 2m, 1h, 7d, "250 millis", "5 seconds" or "1 minute"',
    )
  })

  it("VERK_MAX_RETRY_COUNT=many names the variable", async () => {
    const result = await verk(["stats"], { REDIS_URL: Unreachable, VERK_MAX_RETRY_COUNT: "many" })
    // stats reads only REDIS_URL and VERK_NAMESPACE: it fails on the connection, not on this.
    expect(result.stderr).toMatch(/^verk: cannot connect to Redis/)
    const run = await verk(["run", "test/examples/workers.ts"], {
      REDIS_URL: Unreachable,
      VERK_MAX_RETRY_COUNT: "many",
    })
    expectOneLine(run, 'verk: VERK_MAX_RETRY_COUNT="many": expected a string representing a finite number')
  })
})
