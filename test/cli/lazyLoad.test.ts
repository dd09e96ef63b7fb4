/**
 * The `verk` command loads what the command line needs and no more (main.ts), so that it starts
 * quickly: `verk --help` loads no subcommand and none of Redis or the runtime, a subcommand loads
 * its own module and not the others'. Seen in the modules a real process loaded (recordLoads.ts).
 * And it keeps V8's compiled code in Node's compile cache, unless told not to.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { needsNamesOnly, subcommandOf } from "../../packages/node/src/cli/commands.ts"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { bin, fixture, nodeBinary, start, verk } from "./support.ts"

const dir = mkdtempSync(join(tmpdir(), "verk-lazy-load-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const namespaces: Array<string> = []
afterEach(async () => {
  for (const namespace of namespaces.splice(0)) await deleteNamespace(redisUrl(), namespace)
})

const Subcommands = ["run", "enqueue", "stats", "jobs", "queue", "web"]

/** `verk <args>` started with the module recorder: the process, and the modules it loaded once it exited. */
const recorded = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}) => {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.txt`)
  const process = start(
    nodeBinary,
    ["--conditions=@verk/source", "--import", fixture("recordLoads.ts"), bin, ...args],
    { ...env, VERK_TEST_LOADED: file },
  )
  const loaded = async () => {
    await process.exited
    return readFileSync(file, "utf8").split("\n")
  }
  return { process, loaded }
}

const subcommandModules = (loaded: ReadonlyArray<string>) =>
  Subcommands.filter((name) => loaded.some((url) => url.endsWith(`/packages/node/src/cli/${name}.ts`)))
const loads = (loaded: ReadonlyArray<string>, part: string) => loaded.some((url) => url.includes(part))

describe("verk loads only what the command line needs", () => {
  it("verk --help: no subcommand's module, no runtime, no Redis client; every subcommand listed", async () => {
    const { process, loaded } = recorded(["--help"])
    const modules = await loaded()
    expect((await process.exited).code).toBe(0)
    for (const name of Subcommands) expect(process.stdout()).toMatch(new RegExp(`^  ${name} +\\S`, "m"))
    expect(subcommandModules(modules)).toEqual([])
    expect(loads(modules, "/packages/core/src/")).toBe(false)
    expect(loads(modules, "/packages/redis/src/")).toBe(false)
    expect(loads(modules, "/node_modules/ioredis/")).toBe(false)
    // The fence: the recorder saw the command itself load.
    expect(loads(modules, "/packages/node/src/main.ts")).toBe(true)
  })

  it("verk stats --help: the stats module only", async () => {
    const { process, loaded } = recorded(["stats", "--help"])
    const modules = await loaded()
    expect((await process.exited).code).toBe(0)
    expect(process.stdout()).toContain("--json")
    expect(subcommandModules(modules)).toEqual(["stats"])
  })

  it("verk run: its own module (and web.ts for --web-port's flags), not the other subcommands' nor the dashboard", async () => {
    const namespace = uniqueNamespace()
    namespaces.push(namespace)
    const { process, loaded } = recorded(["run", "test/examples/workers.ts"], {
      REDIS_URL: redisUrl(),
      VERK_NAMESPACE: namespace,
    })
    await process.waitFor("worker process ready", 30_000)
    process.child.kill("SIGTERM")
    const modules = await loaded()
    expect((await process.exited).code).toBe(0)
    expect(subcommandModules(modules)).toEqual(["run", "web"])
    expect(loads(modules, "/packages/node/src/web/")).toBe(false)
  })

  it("an unknown subcommand: every subcommand is loaded, and the error is the same", async () => {
    const { process, loaded } = recorded(["nosuch"])
    const modules = await loaded()
    expect((await process.exited).code).toBe(1)
    expect(process.stderr()).toBe('verk: unknown subcommand "nosuch" for "verk" (see verk --help)\n')
    expect(subcommandModules(modules).sort()).toEqual([...Subcommands].sort())
  })
})

describe("the subcommand a command line names (cli/commands.ts)", () => {
  it("the first argument that is not a flag nor a global flag's value, when it is a subcommand", () => {
    expect(subcommandOf(["run", "./workers.js"])).toBe("run")
    expect(subcommandOf(["--log-level", "debug", "run", "./workers.js"])).toBe("run")
    expect(subcommandOf(["--log-level=debug", "stats", "--json"])).toBe("stats")
    expect(subcommandOf(["enqueue", "run", "[]"])).toBe("enqueue")
    expect(subcommandOf(["--completions", "bash"])).toBeUndefined()
    expect(subcommandOf(["nosuch", "run"])).toBeUndefined()
    expect(subcommandOf(["toString"])).toBeUndefined()
    expect(subcommandOf(["--help"])).toBeUndefined()
  })

  it("names only for verk's own help and version, or no argument", () => {
    for (const args of [[], ["--help"], ["-h"], ["--version"], ["-v"]]) expect(needsNamesOnly(args)).toBe(true)
    for (const args of [["run"], ["--completions", "bash"], ["--wizard"], ["nosuch"], ["--log-level", "info"]]) {
      expect(needsNamesOnly(args)).toBe(false)
    }
  })
})

describe("Node's compile cache", () => {
  it("the bin keeps it in the OS's temporary directory; NODE_DISABLE_COMPILE_CACHE=1 keeps none", async () => {
    const cached = join(dir, "cached")
    const disabled = join(dir, "disabled")
    mkdirSync(cached)
    mkdirSync(disabled)
    const first = await verk(["--version"], { TMPDIR: cached })
    expect(first).toMatchObject({ code: 0, stdout: "verk v0.1.0\n" })
    expect(readdirSync(join(cached, "node-compile-cache")).length).toBeGreaterThan(0)
    const off = await verk(["--version"], { TMPDIR: disabled, NODE_DISABLE_COMPILE_CACHE: "1" })
    // The same output: the fence that the process ran to its end.
    expect(off).toMatchObject({ code: 0, stdout: "verk v0.1.0\n" })
    expect(existsSync(join(disabled, "node-compile-cache"))).toBe(false)
  })
})
