/**
 * Unique jobs across processes: 100 concurrent enqueues of one unique job, 25 from each of 4 real
 * client processes (test/fault/uniqueEnqueueMain.ts) released at once, make one job, and every
 * enqueue returns its jid (one `Enqueued`, 99 `Duplicate`s naming it). In both key schemes.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { resolve } from "node:path"
import { describe, expect, it } from "vitest"
import { privateRedis, waitUntil } from "./support.ts"

const root = resolve(import.meta.dirname, "../..")
const nodeBinary = resolve(root, "node_modules/.bin/node")
const main = resolve(import.meta.dirname, "uniqueEnqueueMain.ts")

const Processes = 4
const PerProcess = 25

const local = privateRedis()

interface Client {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
}

const spawnClient = (url: string, keyScheme: string): Client => {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("VERK_") && key !== "REDIS_URL") env[key] = value
  }
  Object.assign(env, { REDIS_URL: url, VERK_KEY_SCHEME: keyScheme, VERK_ENQUEUES: String(PerProcess) })
  const child = spawn(nodeBinary, ["--conditions=@verk/source", main], {
    cwd: root,
    env,
    stdio: ["pipe", "pipe", "pipe"],
  })
  let output = ""
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString()
  })
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)))
  return { child, output: () => output, exited }
}

describe("unique enqueues from several processes", () => {
  for (const keyScheme of ["sidekiq", "cluster"] as const) {
    it(`${Processes} processes x ${PerProcess} concurrent enqueues make one job and return one jid (${keyScheme} key scheme)`, async () => {
      const { server, redis } = local
      await redis.flushall()
      const clients = Array.from({ length: Processes }, () => spawnClient(server.url, keyScheme))
      try {
        for (const client of clients) {
          await waitUntil(
            "a client process is ready",
            async () => client.output().includes("ready"),
            60_000,
            50,
            async () => client.output(),
          )
        }
        for (const client of clients) client.child.stdin?.write("go\n")
        const codes = await Promise.all(clients.map((client) => client.exited))
        expect(codes, clients.map((client) => client.output()).join("\n---\n")).toEqual(clients.map(() => 0))
        const results = clients.flatMap((client) => {
          const line =
            client
              .output()
              .split("\n")
              .find((text) => text.startsWith("[")) ?? "[]"
          return JSON.parse(line) as Array<[string, string]>
        })
        expect(results).toHaveLength(Processes * PerProcess)
        const enqueued = results.filter(([tag]) => tag === "Enqueued")
        expect(enqueued).toHaveLength(1)
        const jid = enqueued[0]![1]
        expect(new Set(results.map(([, holder]) => holder))).toEqual(new Set([jid]))
        const queueKey = keyScheme === "cluster" ? "queue:{reports}" : "queue:reports"
        const queued = await redis.lrange(queueKey, 0, -1)
        expect(queued.map((raw) => (JSON.parse(raw) as { jid: string }).jid)).toEqual([jid])
      } finally {
        for (const client of clients) if (client.child.exitCode === null) client.child.kill("SIGKILL")
      }
    }, 120_000)
  }
})
