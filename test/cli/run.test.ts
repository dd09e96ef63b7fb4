/**
 * `verk run <module>` as a real process on the test Redis: the module's workers run with the
 * services of its `layer` export, and SIGTERM shuts down gracefully (exit 0, the layer closed).
 */
import { readFileSync } from "node:fs"
import { Redis } from "ioredis"
import { afterEach, describe, expect, it } from "vitest"
import { NodeFlags } from "../../packages/node/src/NodeFlags.ts"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { quickEnv, start, startVerk, verk } from "./support.ts"

const namespaces: Array<string> = []
afterEach(async () => {
  for (const namespace of namespaces.splice(0)) await deleteNamespace(redisUrl(), namespace)
})

/** The environment of one test: the test Redis, a namespace of its own, quick polling. */
const environment = () => {
  const namespace = uniqueNamespace()
  namespaces.push(namespace)
  return quickEnv(redisUrl(), namespace)
}

describe("verk run test/examples/workers.ts", () => {
  it("runs CreditAccount with the Accounts service of the module's layer; SIGTERM exits 0 and closes the layer", async () => {
    const env = environment()
    const worker = startVerk(["run", "test/examples/workers.ts"], env)
    await worker.waitFor("worker process ready")
    expect(worker.stdout()).toContain("accounts: connected")
    // It restarted itself with the worker's V8 flags (NodeFlags.ts): the same process, new flags.
    if (process.platform === "linux") {
      const commandLine = readFileSync(`/proc/${worker.child.pid}/cmdline`, "utf8").split("\0")
      expect(commandLine).toEqual(expect.arrayContaining([...NodeFlags]))
    }

    const enqueued = await verk(["enqueue", "CreditAccount", '["acct-1", 250]'], env)
    expect(enqueued.code).toBe(0)
    expect(enqueued.stdout).toMatch(/^[0-9a-f]{24}\n$/)
    await worker.waitFor("credited 250 cents to acct-1: balance 250")
    await verk(["enqueue", "CreditAccount", '["acct-1", 100]'], env)
    await worker.waitFor("credited 100 cents to acct-1: balance 350")

    worker.child.kill("SIGTERM")
    const { code } = await worker.exited
    expect(code).toBe(0)
    const output = worker.stdout()
    expect(output.indexOf("accounts: disconnected")).toBeGreaterThan(output.indexOf("balance 350"))
    expect(worker.stderr()).toBe("")

    const stats = await verk(["stats"], env)
    expect(stats.stdout).toContain("processed 2  failed 0")
  })

  it("a worker whose service the module does not provide: its jobs fail naming the service, and retry", async () => {
    const env = environment()
    const worker = startVerk(["run", "test/cli/fixtures/missingService.ts"], env)
    await worker.waitFor("worker process ready")
    await verk(["enqueue", "CreditAccount", '["acct-1", 250]'], env)
    await worker.waitFor("Service not found: example/Accounts")

    const redis = new Redis(redisUrl())
    try {
      const [retry] = await redis.zrange(`${env.VERK_NAMESPACE}:retry`, "0", "-1")
      expect(JSON.parse(retry ?? "{}")).toMatchObject({
        class: "CreditAccount",
        error_message: "Service not found: example/Accounts",
      })
    } finally {
      redis.disconnect()
    }
    worker.child.kill("SIGTERM")
    expect((await worker.exited).code).toBe(0)
  })
})

describe("a worker process started by npm", () => {
  // npm runs `sh -c "<command>"` and passes SIGTERM to that shell only, which exits without passing
  // it on. `npm_command` says npm started the process: it then takes the loss of its parent as SIGTERM.
  it("shuts down gracefully when the `sh -c` between npm and it exits", async () => {
    const env = { ...environment(), npm_command: "run" }
    const command = `node --conditions=@verk/source packages/node/src/bin.ts run test/examples/workers.ts; exit $?`
    const shell = start("sh", ["-c", command], { ...env, PATH: `node_modules/.bin:${process.env.PATH ?? ""}` })
    await shell.waitFor("worker process ready")
    const pid = Number(/worker process ready: node \S+, pid (\d+)/.exec(shell.stdout())?.[1])
    try {
      shell.child.kill("SIGTERM")
      // The pipes close once the worker, the shell's child, has exited too.
      await shell.waitFor("accounts: disconnected", 20_000)
      await shell.exited
      expect(shell.stdout()).toContain(`the parent process (pid ${shell.child.pid}, npm run) exited: shutting down`)
    } finally {
      if (pid > 0) {
        try {
          process.kill(pid, "SIGKILL")
        } catch {}
      }
    }
    // A start under load (the worker restarts itself once for its V8 flags), a parent poll of up to
    // a second and a graceful close: room for a busy machine.
  }, 45_000)
})
