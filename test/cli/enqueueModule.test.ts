/**
 * `verk enqueue --module <m> <class> <args>` as a real process: the job goes to the queue of the
 * module's worker of that name, its args checked against the worker's schema before Redis is
 * reached; and `verk run` of a module with two different workers of one name refuses it with one
 * line (Worker.DuplicateWorkerName), not a defect's stack.
 */
import { Redis } from "ioredis"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { verk } from "./support.ts"

const Module = "test/cli/fixtures/mailWorker.ts"

let redis: Redis
beforeAll(() => {
  redis = new Redis(redisUrl())
})
afterAll(() => {
  redis.disconnect()
})

const namespaces: Array<string> = []
afterEach(async () => {
  await Promise.all(namespaces.splice(0).map((namespace) => deleteNamespace(redisUrl(), namespace)))
})

const environment = () => {
  const namespace = uniqueNamespace()
  namespaces.push(namespace)
  return { REDIS_URL: redisUrl(), VERK_NAMESPACE: namespace }
}

const queued = async (namespace: string, queue: string) =>
  (await redis.lrange(`${namespace}:queue:${queue}`, "0", "-1")).map(
    (raw) => JSON.parse(raw) as { class: string; args: unknown; queue: string; jid: string },
  )

const expectOneLine = (result: { code: number | null; stdout: string; stderr: string }, line: string) => {
  assert.strictEqual(result.stderr, `${line}\n`)
  assert.strictEqual(result.stdout, "")
  assert.strictEqual(result.code, 1)
}

describe("verk enqueue --module", () => {
  it("puts the job on its worker's queue, with args that match the worker's schema", async () => {
    const env = environment()
    const result = await verk(["enqueue", "--module", Module, "SendMail", '["ada@example.com"]'], env)
    assert.strictEqual(result.code, 0, result.stderr)
    assert.match(result.stdout, /^[0-9a-f]{24}\n$/)
    const jobs = await queued(env.VERK_NAMESPACE, "mail")
    assert.strictEqual(jobs.length, 1)
    assert.include(jobs[0], { class: "SendMail", queue: "mail", jid: result.stdout.trim() })
    assert.deepStrictEqual(jobs[0]?.args, ["ada@example.com"])
    assert.deepStrictEqual(await queued(env.VERK_NAMESPACE, "default"), [])
  })

  it("--queue still wins over the worker's queue", async () => {
    const env = environment()
    const result = await verk(
      ["enqueue", "--module", Module, "SendMail", '["ada@example.com"]', "--queue", "urgent"],
      env,
    )
    assert.strictEqual(result.code, 0, result.stderr)
    assert.strictEqual((await queued(env.VERK_NAMESPACE, "urgent")).length, 1)
    assert.deepStrictEqual(await queued(env.VERK_NAMESPACE, "mail"), [])
  })

  it("refuses args that do not match the schema with one line, and writes nothing", async () => {
    const env = environment()
    expectOneLine(
      await verk(["enqueue", "--module", Module, "SendMail", "[42]"], env),
      "verk: invalid args for SendMail: expected string at [0]",
    )
    expectOneLine(
      await verk(["enqueue", "--module", Module, "SendMail", "[]"], env),
      "verk: invalid args for SendMail: missing key at [0]",
    )
    // The fence: a later good job is the only one on the queue, so the refused ones never were.
    const good = await verk(["enqueue", "--module", Module, "SendMail", '["ada@example.com"]'], env)
    assert.strictEqual(good.code, 0, good.stderr)
    const jobs = await queued(env.VERK_NAMESPACE, "mail")
    assert.deepStrictEqual(
      jobs.map((job) => job.jid),
      [good.stdout.trim()],
    )
  })

  it("an unknown class: one line naming the module's workers", async () => {
    const env = environment()
    expectOneLine(
      await verk(["enqueue", "--module", Module, "SendEmail", '["ada@example.com"]'], env),
      `verk: ${Module} exports no worker named SendEmail (its workers: Ping, SendMail)`,
    )
  })

  it("--module with --file is a usage mistake, told before Redis is reached", async () => {
    expectOneLine(
      await verk(["enqueue", "--module", Module, "--file", "-"], { REDIS_URL: "redis://127.0.0.1:1" }),
      "verk: --module goes with a class and its args, not with --file",
    )
  })

  it("without --module nothing is checked, and the queue is default", async () => {
    const env = environment()
    const result = await verk(["enqueue", "SendMail", "[42]"], env)
    assert.strictEqual(result.code, 0, result.stderr)
    assert.deepStrictEqual(
      (await queued(env.VERK_NAMESPACE, "default")).map((job) => job.args),
      [[42]],
    )
  })
})

describe("verk run with two workers of one name", () => {
  // The module namespace lists its exports by name: OtherPing (mail) before Ping (default).
  it("one line naming the name and both queues, exit 1, no stack", async () => {
    const env = environment()
    const result = await verk(["run", "test/cli/fixtures/duplicateNames.ts"], env)
    assert.strictEqual(
      result.stderr,
      'verk: two different workers are named "Ping" (queues mail and default): a job names its worker by name, so each worker needs a name of its own\n',
      result.stdout,
    )
    assert.notMatch(result.stdout, /\bat .*:\d+:\d+/)
    assert.strictEqual(result.code, 1)
  })
})
