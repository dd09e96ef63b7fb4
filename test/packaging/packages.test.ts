/**
 * Acceptance for installability, following the README's Install word for word. One `npm run pack`
 * for the whole file (it builds, then writes the three tarballs to ./packs), then:
 * - what `npm pack` puts in each tarball (no tests; dist, the Lua module, README, LICENSE);
 * - a scratch app outside the repository where the README's `npm install` line runs (the tarballs
 *   from ./packs, the peers from the registry), used as a new user would: strict type check, plain
 *   node, the bin running the typed module example (workers.ts), the producer-only example, the
 *   package READMEs' examples, and the README's Bundling: its esbuild install and command word for
 *   word, the bundled HTTP app run away from node_modules, enqueueing a job posted to it.
 * Other tests run on the sources (the `@verk/source` condition), never on dist, so this file may
 * run alongside them.
 */
import { execFile } from "node:child_process"
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { basename, join, resolve } from "node:path"
import { promisify } from "node:util"
import { Redis } from "ioredis"
import { afterAll, assert, beforeAll, describe, expect, it } from "vitest"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import {
  bundle,
  check,
  declaredPeers,
  makeApp,
  pack,
  type ReadmeInstall,
  readmeBundling,
  readmeInstall,
  root,
  run as runIn,
  startUntil,
  tsc,
} from "./consumer.ts"

const Minutes = 60_000
const nodeBinary = resolve(root, "node_modules/.bin/node")
const Workspaces = ["core", "redis", "node"] as const
type Workspace = (typeof Workspaces)[number]

/** Runs a command in the repository's root; a failure carries its whole output. */
const run = async (file: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env) => {
  try {
    return await promisify(execFile)(file, args, { cwd: root, env, maxBuffer: 16 * 1024 * 1024 })
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string }
    throw new Error(`${file} ${args.join(" ")} failed:\n${stdout}\n${stderr}`)
  }
}

/** A plain node: no `@verk/source` condition, so `@verk/*` resolve as they will once installed. */
const plainEnv = (): NodeJS.ProcessEnv => {
  const { NODE_OPTIONS: _, ...env } = process.env
  return env
}

interface PackedFile {
  readonly path: string
}
interface Packed {
  readonly name: string
  readonly files: ReadonlyArray<PackedFile>
}

let app = ""
let produced: ReadonlyArray<string> = []
let install: ReadmeInstall

beforeAll(async () => {
  produced = await pack()
  await listTarballs()
  install = readmeInstall()
  const named = [...install.tarballs].sort()
  if (named.join(" ") !== produced.join(" ")) {
    throw new Error(`the README installs ${named.join(" ")}; npm run pack wrote ${produced.join(" ")}`)
  }
  app = await makeApp(install)
}, 5 * Minutes)

afterAll(() => {
  if (app !== "") rmSync(app, { recursive: true, force: true })
})

const manifest = (workspace: Workspace) =>
  JSON.parse(readFileSync(resolve(root, "packages", workspace, "package.json"), "utf8")) as {
    name: string
    version: string
    exports: Record<string, Record<string, string>>
    bin?: Record<string, string>
  }

const files = new Map<Workspace, ReadonlySet<string>>()

/** `npm pack --dry-run` of every workspace: what each tarball holds. */
const listTarballs = async () => {
  const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--workspaces"])
  const packed = JSON.parse(stdout) as ReadonlyArray<Packed>
  for (const workspace of Workspaces) {
    const entry = packed.find((p) => p.name === manifest(workspace).name)
    if (entry === undefined) throw new Error(`npm pack gave no @verk/${workspace}`)
    files.set(workspace, new Set(entry.files.map((file) => file.path)))
  }
}

describe.each(Workspaces)("@verk/%s tarball", (workspace) => {
  const packed = () => files.get(workspace)!

  it("has no tests", () => {
    const tests = [...packed()].filter((path) => /(^|\/)tests?\//.test(path) || /\.test\./.test(path))
    expect(tests).toEqual([])
  })

  it("has the built entry point, README.md and LICENSE", () => {
    for (const path of ["dist/index.js", "dist/index.d.ts", "README.md", "LICENSE", "package.json"]) {
      expect(packed(), path).toContain(path)
    }
  })

  it("has every file its exports and bin name (without the @verk/source condition)", () => {
    const { exports, bin = {} } = manifest(workspace)
    const targets = [
      ...Object.values(exports).flatMap((conditions) =>
        Object.entries(conditions)
          .filter(([condition]) => condition !== "@verk/source")
          .map(([, target]) => target),
      ),
      ...Object.values(bin),
    ]
    expect(targets.length).toBeGreaterThan(0)
    for (const target of targets) expect(packed(), target).toContain(target.replace(/^\.\//, ""))
  })

  it("ships JavaScript that imports JavaScript", () => {
    const modules = [...packed()].filter((path) => path.endsWith(".js"))
    expect(modules.length).toBeGreaterThan(0)
    for (const path of modules) {
      const text = readFileSync(resolve(root, "packages", workspace, path), "utf8")
      expect(text, path).not.toMatch(/\bfrom\s+["'][^"']*\.ts["']|\bimport\(\s*["'][^"']*\.ts["']/)
    }
  })
})

describe("the README's Install", () => {
  it("packs with `npm run pack`, which writes one tarball per package to ./packs, and nothing else", () => {
    assert.include(install.block, "npm run pack")
    assert.deepStrictEqual(produced, Workspaces.map((w) => `verk-${w}-${manifest(w).version}.tgz`).sort())
  })

  it("installs those three tarballs and every peer the packages declare", () => {
    assert.deepStrictEqual([...install.tarballs].sort(), produced)
    assert.deepStrictEqual([...install.peers].sort(), [...declaredPeers().keys()].sort())
  })
})

describe("the tarballs", () => {
  it("carry what each package adds: core's testing kit, redis's Lua module, node's bin and health thread", () => {
    expect(files.get("core")).toContain("dist/testing.js")
    expect(files.get("core")).toContain("dist/testing.d.ts")
    expect(files.get("redis")).toContain("dist/luaSources.js")
    expect(files.get("node")).toContain("dist/bin.js")
    // The /healthz thread's entry, loaded by file (HealthServer.ts), not imported.
    expect(files.get("node")).toContain("dist/HealthThread.js")
    expect(files.get("node")).not.toContain("dist/demo.js")
  })

  it("run on a plain node, which resolves @verk/* to dist", async () => {
    const script = `
      const core = await import("@verk/core")
      const testing = await import("@verk/core/testing")
      const redis = await import("@verk/redis")
      const node = await import("@verk/node")
      console.log(JSON.stringify({
        resolved: ["@verk/core", "@verk/core/testing", "@verk/redis", "@verk/node"].map((s) => import.meta.resolve(s)),
        exports: [core, testing, redis, node].map((module) => Object.keys(module).length),
      }))`
    const { stdout } = await run(nodeBinary, ["--input-type=module", "-e", script], plainEnv())
    const result = JSON.parse(stdout) as { resolved: Array<string>; exports: Array<number> }
    for (const url of result.resolved) expect(url).toMatch(/\/packages\/(core|redis|node)\/dist\/[a-z]+\.js$/i)
    for (const count of result.exports) expect(count).toBeGreaterThan(0)
  })

  it("give a verk binary that runs with its shebang", async () => {
    const bin = resolve(root, "packages/node/dist/bin.js")
    expect(readFileSync(bin, "utf8").split("\n")[0]).toBe("#!/usr/bin/env node")
    const { stdout } = await run(nodeBinary, [bin, "--version"], plainEnv())
    expect(stdout).toContain(manifest("node").version)
  })
})

// Generous: each test runs tsc, npm, node or esbuild in the app, slow on a loaded machine.
describe("a scratch app installing the packed tarballs", { timeout: 2 * Minutes }, () => {
  const namespaces: Array<string> = []
  const namespace = () => {
    const made = uniqueNamespace()
    namespaces.push(made)
    return made
  }

  afterAll(async () => {
    for (const made of namespaces) await deleteNamespace(redisUrl(), made)
  })

  it("has one copy of effect", async () => {
    const listed = await check("npm", ["ls", "effect", "--all", "--parseable"], { cwd: app })
    const copies = new Set(listed.stdout.split("\n").filter((line) => line.trim() !== ""))
    assert.strictEqual(copies.size, 1, listed.stdout)
  })

  it("type-checks the README's examples under the app's strict tsconfig, and runs the compiled first one", async () => {
    await tsc(app)
    const env = { REDIS_URL: redisUrl(), VERK_NAMESPACE: namespace() }
    const hello = startUntil("node", ["dist/hello.js"], { cwd: app, env }, "mail ada@example.com: Welcome")
    try {
      await hello.ready
    } finally {
      hello.child.kill("SIGTERM")
    }
    assert.strictEqual(await hello.exited, 130, hello.output())
  })

  it("runs the first example with plain node (type stripping) and as an esbuild bundle", async () => {
    await bundle(app, "hello.ts", "bundle/hello.mjs")
    for (const entry of ["hello.ts", "bundle/hello.mjs"]) {
      const env = { REDIS_URL: redisUrl(), VERK_NAMESPACE: namespace() }
      const hello = startUntil("node", [entry], { cwd: app, env }, "mail ada@example.com: Welcome")
      try {
        await hello.ready
      } finally {
        hello.child.kill("SIGTERM")
      }
      assert.strictEqual(await hello.exited, 130, `${entry}\n${hello.output()}`)
    }
  })

  it("runs the installed verk bin: --help, and run of the typed module example (workers.ts) with /healthz, enqueue and stats", async () => {
    const verk = join(app, "node_modules/.bin/verk")
    const help = await check(verk, ["--help"], { cwd: app })
    for (const command of ["run", "enqueue", "stats"]) assert.include(help.stdout, command)

    const env = { REDIS_URL: redisUrl(), VERK_NAMESPACE: namespace(), VERK_QUEUES: "default:2" }
    const healthPort = await freePort()
    const args = ["run", "./workers.ts", "--health-port", String(healthPort)]
    const worker = startUntil(verk, args, { cwd: app, env }, "running CreditAccount")
    try {
      await worker.ready
      // /healthz from its thread, whose entry file resolves in dist.
      await waitFor(() => worker.output().includes("serving /healthz"), worker.output)
      const health = await fetch(`http://127.0.0.1:${healthPort}/healthz`)
      assert.strictEqual(health.status, 200, worker.output())
      assert.include(await health.json(), { healthy: true })
      const jid = (await check(verk, ["enqueue", "CreditAccount", '["acct-7", 250]'], { cwd: app, env })).stdout.trim()
      assert.match(jid, /^[0-9a-f]{24}$/)
      // workers.ts's default export is a Verk.module: its layer's Accounts service runs the job.
      assert.include(worker.output(), "accounts: connected")
      await waitFor(() => worker.output().includes("credited 250 cents to acct-7: balance 250"), worker.output)
      // The job is counted when the worker flushes its stats (once a second), not when it logs.
      let stats = await check(verk, ["stats"], { cwd: app, env })
      for (let attempt = 0; attempt < 20 && !/processed [1-9]/.test(stats.stdout); attempt++) {
        await new Promise((done) => setTimeout(done, 250))
        stats = await check(verk, ["stats"], { cwd: app, env })
      }
      assert.match(stats.stdout, /processed [1-9]/, stats.stdout)
    } finally {
      worker.child.kill("SIGTERM")
    }
    assert.strictEqual(await worker.exited, 0, worker.output())
    assert.include(worker.output(), "accounts: disconnected", "the module's layer is closed at shutdown")
    const redis = new Redis(redisUrl())
    try {
      assert.deepStrictEqual(await redis.smembers(`${env.VERK_NAMESPACE}:verk_nodes`), [], "deregistered")
    } finally {
      redis.disconnect()
    }
  })

  it("runs the README's worker-thread example: the thread entry resolves from the installed @verk/node", async () => {
    const env = { REDIS_URL: redisUrl(), VERK_NAMESPACE: namespace() }
    const ran = await runIn("node", ["threads.ts"], { cwd: app, env })
    const output = `${ran.stdout}${ran.stderr}`
    assert.strictEqual(ran.code, 0, output)
    assert.match(output, /digest [0-9a-f]{64}/)
  })

  it("runs the README's producer example: it enqueues its job to the namespace's queue and exits", async () => {
    const env = { REDIS_URL: redisUrl(), VERK_NAMESPACE: namespace() }
    const ran = await runIn("node", ["producer.ts"], { cwd: app, env })
    const output = `${ran.stdout}${ran.stderr}`
    assert.strictEqual(ran.code, 0, output)
    assert.match(output, /enqueued CreditAccount \S+ on default/)
    const redis = new Redis(redisUrl())
    try {
      const jobs = await redis.lrange(`${env.VERK_NAMESPACE}:queue:default`, 0, -1)
      assert.strictEqual(jobs.length, 1, output)
      const job = JSON.parse(jobs[0] ?? "null")
      assert.strictEqual(job.class, "CreditAccount")
      assert.strictEqual(job.queue, "default")
      assert.deepStrictEqual(job.args, ["acct-1", 250])
      assert.deepStrictEqual(await redis.smembers(`${env.VERK_NAMESPACE}:queues`), ["default"])
      assert.deepStrictEqual(await redis.smembers(`${env.VERK_NAMESPACE}:verk_nodes`), [], "no worker ran here")
    } finally {
      redis.disconnect()
    }
  })

  it("runs the package READMEs' examples: core's in memory, redis's enqueueing to Redis, node's under verk run", async () => {
    const core = await runIn("node", ["packageCore.ts"], { cwd: app })
    assert.strictEqual(core.code, 0, `${core.stdout}${core.stderr}`)
    assert.include(`${core.stdout}${core.stderr}`, "mail ada@example.com: Welcome")

    const env = { REDIS_URL: redisUrl(), VERK_NAMESPACE: namespace() }
    const redisExample = await runIn("node", ["packageRedis.ts"], { cwd: app, env })
    const output = `${redisExample.stdout}${redisExample.stderr}`
    assert.strictEqual(redisExample.code, 0, output)
    const jid = /enqueued ResizeImage (\S+) on images/.exec(output)?.[1]
    assert.isDefined(jid, output)
    const redis = new Redis(redisUrl())
    try {
      const jobs = (await redis.lrange(`${env.VERK_NAMESPACE}:queue:images`, 0, -1)).map((job) => JSON.parse(job))
      assert.deepStrictEqual(
        jobs.map((job) => [job.jid, job.class, job.args]),
        [[jid, "ResizeImage", ["img-42", 640]]],
      )
    } finally {
      redis.disconnect()
    }

    // @verk/node's README: its module under `verk run`, a job enqueued with its `verk enqueue` line.
    const verk = join(app, "node_modules/.bin/verk")
    const nodeEnv = { REDIS_URL: redisUrl(), VERK_NAMESPACE: namespace(), VERK_QUEUES: "default:25,mail:5" }
    const worker = startUntil(verk, ["run", "./packageNode.ts"], { cwd: app, env: nodeEnv }, "running SendEmail")
    try {
      await worker.ready
      await check(verk, ["enqueue", "SendEmail", '["ada@example.com","Welcome"]', "--queue", "mail"], {
        cwd: app,
        env: nodeEnv,
      })
      await waitFor(() => worker.output().includes("mail ada@example.com: Welcome"), worker.output)
    } finally {
      worker.child.kill("SIGTERM")
    }
    assert.strictEqual(await worker.exited, 0, worker.output())
  })

  it("bundles the README's HTTP app with the README's esbuild command; the bundle, alone in a folder, enqueues a posted job", async () => {
    const bundling = readmeBundling()
    assert.strictEqual(bundling.entry, "api.ts")
    await bundle(app)
    // The bundle runs with no node_modules beside it: everything it needs is inside.
    const alone = mkdtempSync(join(tmpdir(), "verk-bundle-"))
    const bundled = join(alone, basename(bundling.outfile))
    copyFileSync(join(app, bundling.outfile), bundled)
    const port = await freePort()
    const env = { REDIS_URL: redisUrl(), VERK_NAMESPACE: namespace(), PORT: String(port) }
    const server = startUntil("node", [bundled], { cwd: alone, env }, "Listening on")
    const redis = new Redis(redisUrl())
    try {
      await server.ready
      const post = (body: string) =>
        fetch(`http://127.0.0.1:${port}/credit`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        })
      const accepted = await post(JSON.stringify({ account: "acct-9", cents: 250 }))
      assert.strictEqual(accepted.status, 202, server.output())
      const { jid } = (await accepted.json()) as { jid: string }
      assert.match(jid, /^[0-9a-f]{24}$/)
      assert.strictEqual((await post(JSON.stringify({ account: "acct-9", cents: 2.5 }))).status, 400)
      // The refused request comes after the accepted one, so the queue holds all that was written.
      const jobs = (await redis.lrange(`${env.VERK_NAMESPACE}:queue:default`, 0, -1)).map((job) => JSON.parse(job))
      assert.deepStrictEqual(
        jobs.map((job) => [job.jid, job.class, job.args]),
        [[jid, "CreditAccount", ["acct-9", 250]]],
      )
    } finally {
      redis.disconnect()
      server.child.kill("SIGTERM")
      await server.exited
      rmSync(alone, { recursive: true, force: true })
    }
    assert.notInclude(server.output(), "Dynamic require")
  })

  it("fails with one line when Redis cannot be reached", async () => {
    const verk = join(app, "node_modules/.bin/verk")
    const ran = await runIn(verk, ["stats"], { cwd: app, env: { REDIS_URL: "redis://127.0.0.1:1" } })
    assert.strictEqual(ran.code, 1)
    assert.strictEqual(ran.stdout, "")
    assert.match(ran.stderr, /^verk: cannot connect to Redis at redis:\/\/127\.0\.0\.1:1\/?: .+\n$/)
  })
})

/** A port nothing listens on now (the app's Config.Port refuses 0). */
const freePort = () =>
  new Promise<number>((done, fail) => {
    const probe = createServer()
    probe.once("error", fail)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => (typeof address === "object" && address !== null ? done(address.port) : fail(address)))
    })
  })

/** Polls a condition on output the test already holds (no fixed sleep decides the outcome). */
const waitFor = async (condition: () => boolean, describe: () => string, timeoutMillis = 15_000) => {
  const deadline = Date.now() + timeoutMillis
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out:\n${describe()}`)
    await new Promise((done) => setTimeout(done, 50))
  }
}
