/**
 * The dashboard's reads and actions from the command line, as real processes on a private
 * redis-server: `verk stats [--json]`, `verk jobs retry|delete|kill`, `verk queue
 * pause|resume|clear` and `verk enqueue --file`. Each test has a namespace of its own.
 */
import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Schema } from "effect"
import { Redis } from "ioredis"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { StatsDocument } from "../../packages/node/src/cli/stats.ts"
import { uniqueNamespace } from "../support/redis.ts"
import { type RedisServer, startRedisServer } from "../support/redisServer.ts"
import { quickEnv, startVerk, verk } from "./support.ts"

let server: RedisServer
let redis: Redis
beforeAll(async () => {
  server = await startRedisServer()
  redis = new Redis(server.url)
})
afterAll(async () => {
  redis.disconnect()
  await server.stop()
})

const environment = () => quickEnv(server.url, uniqueNamespace())
type Env = ReturnType<typeof environment>

const payload = (jid: string, className = "CreditAccount", queue = "default") =>
  JSON.stringify({ class: className, args: ["acct-1", 1], jid, queue, retry: true, created_at: 1_700_000_000 })

/** Puts jobs straight into a sorted set, as a failed or scheduled job would be. */
const addTo = (env: Env, set: "retry" | "schedule" | "dead", jobs: ReadonlyArray<string>) =>
  redis.zadd(`${env.VERK_NAMESPACE}:${set}`, ...jobs.flatMap((job, index) => [String(1_800_000_000 + index), job]))

const jidsIn = async (env: Env, set: "retry" | "schedule" | "dead") =>
  (await redis.zrange(`${env.VERK_NAMESPACE}:${set}`, "0", "-1")).map((raw) => JSON.parse(raw).jid as string).sort()

const jidsInQueue = async (env: Env, queue: string) =>
  (await redis.lrange(`${env.VERK_NAMESPACE}:queue:${queue}`, "0", "-1"))
    .map((raw) => JSON.parse(raw).jid as string)
    .sort()

const stats = async (env: Env) => {
  const result = await verk(["stats", "--json"], env)
  assert.strictEqual(result.code, 0, result.stderr)
  assert.strictEqual(result.stdout.trim().split("\n").length, 1, "one JSON document on one line")
  return Schema.decodeUnknownSync(Schema.fromJsonString(StatsDocument))(result.stdout)
}

const expectOneLine = (result: { code: number | null; stdout: string; stderr: string }, line: string) => {
  assert.strictEqual(result.stderr, `${line}\n`)
  assert.strictEqual(result.stdout, "")
  assert.strictEqual(result.code, 1)
}

describe("verk stats", () => {
  it("a table by default; --json: counters, queues with size, latency and paused, sets, and a live node", {
    timeout: 30_000,
  }, async () => {
    const env = environment()
    // The worker serves `default` only: jobs on `mail` wait, and age.
    const worker = startVerk(["run", "test/examples/workers.ts"], { ...env, VERK_QUEUES: "default:3" })
    await worker.waitFor("worker process ready")
    await verk(["enqueue", "CreditAccount", '["acct-1", 1]', "--queue", "mail"], env)
    await verk(["enqueue", "CreditAccount", '["acct-1", 2]', "--queue", "mail"], env)
    await addTo(env, "retry", [payload("r1")])
    await addTo(env, "dead", [payload("d1"), payload("d2")])
    await redis.set(`${env.VERK_NAMESPACE}:stat:processed`, "7")
    await redis.set(`${env.VERK_NAMESPACE}:stat:failed`, "3")
    assert.strictEqual((await verk(["queue", "pause", "mail"], env)).stdout, "paused queue mail\n")
    await new Promise((done) => setTimeout(done, 300))

    const document = await stats(env)
    assert.include(document, { processed: 7, failed: 3, enqueued: 2, retry: 1, scheduled: 0, dead: 2 })
    const mail = document.queues.find((queue) => queue.name === "mail")
    assert.include(mail, { size: 2, paused: true })
    assert.isAtLeast(mail?.latency ?? -1, 0.2)
    assert.isBelow(mail?.latency ?? 99, 30)
    assert.strictEqual(document.nodes.length, 1)
    const [node] = document.nodes
    assert.include(node, { pid: worker.child.pid ?? -1, busy: 0, concurrency: 3 })
    assert.deepStrictEqual(node?.queues, ["default"])
    assert.isString(node?.host)
    assert.isBelow(node?.heartbeatAge ?? 99, 10)

    const table = await verk(["stats"], env)
    assert.strictEqual(table.code, 0, table.stderr)
    const lines = table.stdout.split("\n")
    assert.strictEqual(lines[0], "processed 7  failed 3")
    assert.strictEqual(lines[1], "enqueued 2  retry 1  scheduled 0  dead 2")
    assert.match(table.stdout, /^QUEUE +SIZE +LATENCY +STATE$/m)
    assert.match(table.stdout, /^mail +2 +\d+(\.\d)?s +paused$/m)
    assert.match(table.stdout, /^NODE +HOST +PID +QUEUES +BUSY +HEARTBEAT$/m)
    assert.match(table.stdout, new RegExp(`^\\S+ +\\S+ +${worker.child.pid} +default +0/3 +[\\d.]+s ago$`, "m"))
  })

  it("an empty store: no queues, no nodes", async () => {
    const env = environment()
    const document = await stats(env)
    assert.deepStrictEqual(document, {
      processed: 0,
      failed: 0,
      enqueued: 0,
      retry: 0,
      scheduled: 0,
      dead: 0,
      queues: [],
      nodes: [],
      running: [],
    })
    const table = await verk(["stats"], env)
    assert.include(table.stdout, "no queues\n")
    assert.include(table.stdout, "no nodes\n")
  })
})

describe("verk jobs", () => {
  it("retry <jid...>: from any set to its queue; the jids not found are named; none found is exit 1", async () => {
    const env = environment()
    await addTo(env, "retry", [payload("r1"), payload("r2")])
    await addTo(env, "schedule", [payload("s1", "CreditAccount", "mail")])
    await addTo(env, "dead", [payload("d1")])

    const retried = await verk(["jobs", "retry", "r1", "s1", "d1", "nope"], env)
    assert.strictEqual(retried.code, 0, retried.stderr)
    assert.strictEqual(
      retried.stdout,
      "retried 3 jobs (1 from retry, 1 from scheduled, 1 from dead)\nnot found: nope\n",
    )
    assert.deepStrictEqual(await jidsInQueue(env, "default"), ["d1", "r1"])
    assert.deepStrictEqual(await jidsInQueue(env, "mail"), ["s1"])
    assert.deepStrictEqual(await jidsIn(env, "retry"), ["r2"])
    const [moved] = await redis.lrange(`${env.VERK_NAMESPACE}:queue:mail`, "0", "0")
    assert.isNumber(JSON.parse(moved ?? "{}").enqueued_at, "enqueued_at stamped")

    expectOneLine(await verk(["jobs", "retry", "nope", "r1"], env), "verk: no job nope, r1 in retry, scheduled or dead")
    expectOneLine(await verk(["jobs", "retry", "r2", "--set", "dead"], env), "verk: no job r2 in dead")
  })

  it("delete <jid...> from any set, kill <jid...> to dead; a dead job cannot be killed", async () => {
    const env = environment()
    await addTo(env, "retry", [payload("r1"), payload("r2")])
    await addTo(env, "schedule", [payload("s1")])
    await addTo(env, "dead", [payload("d1")])

    const deleted = await verk(["jobs", "delete", "r1", "d1"], env)
    assert.strictEqual(deleted.stdout, "deleted 2 jobs (1 from retry, 1 from dead)\n")
    assert.strictEqual(deleted.code, 0)
    const killed = await verk(["jobs", "kill", "r2", "s1", "r1"], env)
    assert.strictEqual(killed.stdout, "killed 2 jobs (1 from retry, 1 from scheduled)\nnot found: r1\n")
    assert.deepStrictEqual(await jidsIn(env, "dead"), ["r2", "s1"])
    assert.deepStrictEqual(await jidsIn(env, "retry"), [])

    expectOneLine(await verk(["jobs", "kill", "r2"], env), "verk: no job r2 in retry or scheduled")
    const dead = await verk(["jobs", "kill", "r2", "--set", "dead"], env)
    assert.strictEqual(dead.code, 1)
    assert.match(dead.stderr, /^verk: invalid value for flag --set: "dead"/)
  })

  it("--all --set, with --class: every job of a set, or of a class in it", async () => {
    const env = environment()
    await addTo(env, "retry", [payload("a1", "A"), payload("a2", "A"), payload("b1", "B")])
    await addTo(env, "dead", [payload("d1", "A"), payload("d2", "B"), payload("d3", "B")])

    // `retries`, as the pages and the API say it; `retry` (below) still works.
    const some = await verk(["jobs", "retry", "--all", "--set", "retries", "--class", "A"], env)
    assert.strictEqual(some.stdout, "retried 2 jobs of class A from retry\n")
    assert.deepStrictEqual(await jidsIn(env, "retry"), ["b1"])
    const deleted = await verk(["jobs", "delete", "--all", "--set", "dead", "--class", "B"], env)
    assert.strictEqual(deleted.stdout, "deleted 2 jobs of class B from dead\n")
    assert.deepStrictEqual(await jidsIn(env, "dead"), ["d1"])
    assert.strictEqual(
      (await verk(["jobs", "retry", "--all", "--set", "dead"], env)).stdout,
      "retried 1 job from dead\n",
    )
    assert.strictEqual(
      (await verk(["jobs", "delete", "--all", "--set", "retry"], env)).stdout,
      "deleted 1 job from retry\n",
    )
    assert.deepStrictEqual(await jidsInQueue(env, "default"), ["a1", "a2", "d1"])
    // Nothing left to do is not a failure.
    assert.strictEqual((await verk(["jobs", "retry", "--all", "--set", "retry"], env)).code, 0)

    expectOneLine(await verk(["jobs", "retry", "--all"], env), "verk: retry --all needs --set")
    expectOneLine(await verk(["jobs", "delete"], env), "verk: delete: give jids, or --all --set <set>")
    expectOneLine(
      await verk(["jobs", "delete", "x", "--all", "--set", "dead"], env),
      "verk: delete: give jids or --all, not both",
    )
  })
})

describe("verk queue", () => {
  it("pause reaches a running node (its queue waits), resume lets it run; clear needs --yes", {
    timeout: 30_000,
  }, async () => {
    const env = environment()
    const worker = startVerk(["run", "test/examples/workers.ts"], { ...env, VERK_QUEUES: "default:2" })
    await worker.waitFor("worker process ready")
    await verk(["enqueue", "CreditAccount", '["acct-1", 1]'], env)
    await worker.waitFor("balance 1")

    assert.strictEqual((await verk(["queue", "pause", "default"], env)).stdout, "paused queue default\n")
    await verk(["enqueue", "CreditAccount", '["acct-1", 10]'], env)
    await new Promise((done) => setTimeout(done, 1_000))
    assert.notInclude(worker.stdout(), "balance 11")
    assert.strictEqual(await redis.llen(`${env.VERK_NAMESPACE}:queue:default`), 1)
    assert.strictEqual((await verk(["queue", "resume", "default"], env)).stdout, "resumed queue default\n")
    await worker.waitFor("balance 11")

    worker.child.kill("SIGTERM")
    await worker.exited
    await verk(["enqueue", "CreditAccount", '["acct-1", 1]'], env)
    await verk(["enqueue", "CreditAccount", '["acct-1", 2]'], env)
    expectOneLine(
      await verk(["queue", "clear", "default"], env),
      "verk: clearing queue default deletes its jobs: add --yes to do it",
    )
    assert.strictEqual(await redis.llen(`${env.VERK_NAMESPACE}:queue:default`), 2)
    const cleared = await verk(["queue", "clear", "default", "--yes"], env)
    assert.strictEqual(cleared.stdout, "cleared queue default (2 jobs deleted)\n")
    assert.strictEqual(await redis.llen(`${env.VERK_NAMESPACE}:queue:default`), 0)
  })

  it("an unknown queue, and a name that breaks the queue-name rule: one line each", async () => {
    const env = environment()
    expectOneLine(await verk(["queue", "pause", "nope"], env), 'verk: no queue named "nope"')
    expectOneLine(
      await verk(["queue", "resume", "a b"], env),
      'verk: invalid value for argument <queue>: "a b": "a b" is not a queue name: a queue name is 1 to 128 letters, digits, "_", "-" or "." (see verk queue resume --help)',
    )
  })
})

describe("verk enqueue --file", () => {
  const file = async (name: string, text: string) => {
    const path = join(await mkdtemp(join(tmpdir(), "verk-jobs-")), name)
    await writeFile(path, text)
    return path
  }

  it("a bad line is reported with its number and skipped; the rest load; exit 1", async () => {
    const env = environment()
    const inAnHour = Math.floor(Date.now() / 1000) + 3600
    const path = await file(
      "jobs.jsonl",
      [
        '{"class": "A", "args": [1]}',
        '{"class": "B", "args": [2], "queue": "mail", "jid": "my-jid", "retry": 3}',
        "not json",
        "",
        '{"class": "C", "args": "x"}',
        `{"class": "D", "args": [], "at": ${inAnHour}}`,
        '{"class": "E", "args": [], "queue": "a b"}',
        '{"args": []}',
      ].join("\n"),
    )
    const result = await verk(["enqueue", "--file", path, "--queue", "bulk"], env)
    assert.strictEqual(result.code, 1)
    assert.strictEqual(result.stdout.split("\n").length, 2, result.stdout)
    assert.match(result.stdout, /^3 jobs enqueued in [\d.]+s \(\d+\/s\): 2 to queues, 1 scheduled\n$/)
    const errors = result.stderr.trim().split("\n")
    assert.deepStrictEqual(errors, [
      `verk: ${path} line 3: Expected a valid JSON string`,
      `verk: ${path} line 5: args: Expected array`,
      `verk: ${path} line 7: queue: "a b" is not a queue name: a queue name is 1 to 128 letters, digits, "_", "-" or "."`,
      `verk: ${path} line 8: class: Missing key`,
      "verk: 4 bad lines skipped (line 3, 5, 7, 8); the other 3 jobs were enqueued",
    ])
    const [a] = await redis.lrange(`${env.VERK_NAMESPACE}:queue:bulk`, "0", "-1")
    assert.include(JSON.parse(a ?? "{}"), { class: "A", queue: "bulk", retry: true })
    const [b] = await redis.lrange(`${env.VERK_NAMESPACE}:queue:mail`, "0", "-1")
    assert.include(JSON.parse(b ?? "{}"), { class: "B", queue: "mail", jid: "my-jid", retry: 3 })
    const scheduled = await redis.zrange(`${env.VERK_NAMESPACE}:schedule`, "0", "-1", "WITHSCORES")
    assert.include(JSON.parse(scheduled[0] ?? "{}"), { class: "D", queue: "bulk" })
    assert.strictEqual(Number(scheduled[1]), inAnHour)
  })

  it("piped: a plain line every 10,000 jobs and a summary, no terminal codes; batches of 1,000", {
    timeout: 30_000,
  }, async () => {
    const env = environment()
    const lines = Array.from({ length: 25_000 }, (_, index) => JSON.stringify({ class: "Big", args: [index] }))
    const path = await file("big.jsonl", `${lines.join("\n")}\n`)
    const result = await verk(["enqueue", "--file", path], env)
    assert.strictEqual(result.code, 0, result.stderr)
    assert.strictEqual(result.stderr, "")
    const out = result.stdout.split("\n")
    assert.strictEqual(out.length, 4, result.stdout)
    assert.match(out[0] ?? "", /^10000 jobs enqueued \(\d+\/s\)$/)
    assert.match(out[1] ?? "", /^20000 jobs enqueued \(\d+\/s\)$/)
    assert.match(out[2] ?? "", /^25000 jobs enqueued in [\d.]+s \(\d+\/s\): 25000 to queues, 0 scheduled$/)
    assert.notInclude(result.stdout, "\r")
    assert.strictEqual(await redis.llen(`${env.VERK_NAMESPACE}:queue:default`), 25_000)
    // The next job to run is the file's first line: queue order follows the file.
    const [first] = await redis.lrange(`${env.VERK_NAMESPACE}:queue:default`, "-1", "-1")
    assert.deepStrictEqual(JSON.parse(first ?? "{}").args, [0])
  })

  it("- reads stdin; a file that cannot be read is one line", async () => {
    const env = environment()
    const result = await verk(
      ["enqueue", "--file", "-"],
      env,
      '{"class": "A", "args": [1]}\n{"class": "A", "args": [2]}\n',
    )
    assert.strictEqual(result.code, 0, result.stderr)
    assert.match(result.stdout, /^2 jobs enqueued in/)
    assert.strictEqual(await redis.llen(`${env.VERK_NAMESPACE}:queue:default`), 2)

    expectOneLine(
      await verk(["enqueue", "--file", "/nonexistent/jobs.jsonl"], env),
      "verk: cannot read /nonexistent/jobs.jsonl: ENOENT: no such file or directory, open '/nonexistent/jobs.jsonl'",
    )
    expectOneLine(
      await verk(["enqueue", "A", "[]", "--file", "-"], env),
      "verk: give a class and args, or --file, not both",
    )
  })
})

describe("usage mistakes", () => {
  it("are told before Redis is reached (nothing listens on port 1)", async () => {
    const env = { REDIS_URL: "redis://127.0.0.1:1" }
    expectOneLine(await verk(["jobs", "retry", "--all"], env), "verk: retry --all needs --set")
    expectOneLine(await verk(["jobs", "delete", "j1", "--class", "A"], env), "verk: delete: --class goes with --all")
    expectOneLine(
      await verk(["queue", "clear", "default"], env),
      "verk: clearing queue default deletes its jobs: add --yes to do it",
    )
    expectOneLine(await verk(["enqueue"], env), "verk: give a class and its args as a JSON array, or --file")
    const jobs = await verk(["jobs", "retry", "j1"], env)
    assert.match(jobs.stderr, /^verk: cannot connect to Redis at redis:\/\/127\.0\.0\.1:1/)
  })
})
