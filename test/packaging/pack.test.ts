/**
 * The packages as npm would publish them: `npm run build`, then `npm pack --dry-run` of each
 * workspace. It writes only packages/<name>/dist (and luaSources.ts when lua/ changed, which its own
 * test reports); every other test runs on the sources through the `@verk/source` condition, never on
 * dist, so this file may run alongside them.
 */
import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { promisify } from "node:util"
import { beforeAll, describe, expect, it } from "vitest"

const root = resolve(import.meta.dirname, "../..")
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

const manifest = (workspace: Workspace) =>
  JSON.parse(readFileSync(resolve(root, "packages", workspace, "package.json"), "utf8")) as {
    name: string
    version: string
    exports: Record<string, Record<string, string>>
    bin?: Record<string, string>
  }

const files = new Map<Workspace, ReadonlySet<string>>()

beforeAll(async () => {
  await run("npm", ["run", "build"])
  const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--workspaces"])
  const packed = JSON.parse(stdout) as ReadonlyArray<Packed>
  for (const workspace of Workspaces) {
    const entry = packed.find((p) => p.name === manifest(workspace).name)
    if (entry === undefined) throw new Error(`npm pack gave no @verk/${workspace}`)
    files.set(workspace, new Set(entry.files.map((file) => file.path)))
  }
}, 120_000)

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

describe("the tarballs", () => {
  it("carry what each package adds: core's testing kit, redis's Lua module, node's bin", () => {
    expect(files.get("core")).toContain("dist/testing.js")
    expect(files.get("core")).toContain("dist/testing.d.ts")
    expect(files.get("redis")).toContain("dist/luaSources.js")
    expect(files.get("node")).toContain("dist/bin.js")
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
