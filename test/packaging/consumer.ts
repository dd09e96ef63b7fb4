/**
 * A scratch app outside the repository, as a new user makes one: its own package.json with the
 * packed tarballs and the peers from the registry, a strict tsconfig, and the README's examples.
 */
import { execFile, spawn } from "node:child_process"
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { promisify } from "node:util"

export const root = resolve(import.meta.dirname, "../..")
const bin = (name: string) => join(root, "node_modules/.bin", name)

/** Node 24 and the repository's tools first on PATH, as under `npm test`. */
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH ?? ""}`,
  ...extra,
})

export interface Ran {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to its end; a non-zero exit is returned, not thrown. */
export const run = async (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: Record<string, string> },
): Promise<Ran> => {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, [...args], {
      cwd: options.cwd,
      env: env(options.env),
      maxBuffer: 64 * 1024 * 1024,
    })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }
    return {
      code: typeof failed.code === "number" ? failed.code : 1,
      stdout: failed.stdout ?? "",
      stderr: failed.stderr ?? "",
    }
  }
}

/** Runs a command and fails with its output unless it exits 0. */
export const check = async (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: Record<string, string> },
): Promise<Ran> => {
  const ran = await run(command, args, options)
  if (ran.code !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited ${ran.code}\n${ran.stdout}\n${ran.stderr}`)
  }
  return ran
}

/** `npm pack` of the three workspaces into `dir`; returns the tarballs' paths. */
export const pack = async (dir: string): Promise<ReadonlyArray<string>> => {
  const ran = await check(
    "npm",
    ["pack", "--json", "--pack-destination", dir, "-w", "packages/core", "-w", "packages/redis", "-w", "packages/node"],
    { cwd: root },
  )
  const packed = JSON.parse(ran.stdout) as ReadonlyArray<{ readonly filename: string }>
  return packed.map(({ filename }) => join(dir, filename))
}

/** The version of a dev tool the repository itself uses. */
const rootVersion = (name: string): string => {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    dependencies: Record<string, string>
    devDependencies: Record<string, string>
  }
  const version = manifest.dependencies[name] ?? manifest.devDependencies[name]
  if (version === undefined) throw new Error(`the root package.json has no ${name}`)
  return version
}

/** The range a workspace declares for one of its peers. */
const peerRange = (workspace: string, name: string): string => {
  const manifest = JSON.parse(readFileSync(join(root, "packages", workspace, "package.json"), "utf8")) as {
    peerDependencies?: Record<string, string>
  }
  const range = manifest.peerDependencies?.[name]
  if (range === undefined) throw new Error(`@verk/${workspace} has no peer ${name}`)
  return range
}

/** The app's tsconfig: a user's strict settings, no `allowImportingTsExtensions`, no skipLibCheck. */
const tsconfig = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    lib: ["ES2022", "DOM"],
    types: ["node"],
    strict: true,
    noPropertyAccessFromIndexSignature: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    outDir: "dist",
  },
  include: ["*.ts"],
}

/** Makes the app in a fresh temporary folder and installs the tarballs and the peers into it. */
export const makeApp = async (tarballs: ReadonlyArray<string>): Promise<string> => {
  const app = mkdtempSync(join(tmpdir(), "verk-consumer-"))
  // The peers by the ranges the packages declare, as npm resolves them for a user: the newest
  // release in range, so a new release of a peer (and of what it pulls) is what the test gets too.
  const dependencies: Record<string, string> = {
    effect: peerRange("core", "effect"),
    "@effect/platform-node": peerRange("node", "@effect/platform-node"),
  }
  for (const tarball of tarballs) {
    const name = /verk-(core|redis|node)-/.exec(tarball)?.[1]
    if (name === undefined) throw new Error(`unexpected tarball ${tarball}`)
    dependencies[`@verk/${name}`] = `file:${tarball}`
  }
  const devDependencies = { "@types/node": rootVersion("@types/node") }
  writeFileSync(
    join(app, "package.json"),
    `${JSON.stringify({ name: "verk-consumer", private: true, type: "module", dependencies, devDependencies }, null, 2)}\n`,
  )
  writeFileSync(join(app, "tsconfig.json"), `${JSON.stringify(tsconfig, null, 2)}\n`)
  for (const example of ["hello.ts", "workers.ts"]) {
    cpSync(join(root, "test/examples", example), join(app, example))
  }
  await check("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: app })
  return app
}

export const tsc = (app: string) => check(bin("tsc"), ["-p", "tsconfig.json"], { cwd: app })

export const bundle = (app: string, entry: string, outfile: string) =>
  check(
    bin("esbuild"),
    [
      entry,
      "--bundle",
      "--platform=node",
      "--format=esm",
      `--outfile=${outfile}`,
      // ioredis is CommonJS and requires Node's modules: give the ES module bundle a `require`.
      "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      "--log-level=warning",
    ],
    { cwd: app },
  )

/**
 * Starts `command` and resolves once its output contains `line`; the process keeps running.
 * Rejects with the output if it exits first or `timeoutMillis` passes.
 */
export const startUntil = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env: Record<string, string> },
  line: string,
  timeoutMillis = 20_000,
) => {
  const child = spawn(command, [...args], {
    cwd: options.cwd,
    env: env(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  })
  let output = ""
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)))
  const ready = new Promise<void>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`no "${line}" within ${timeoutMillis} ms:\n${output}`)),
      timeoutMillis,
    )
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes(line)) {
        clearTimeout(timer)
        done()
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.on("exit", (code) => {
      clearTimeout(timer)
      fail(new Error(`${command} exited (${code}) before "${line}":\n${output}`))
    })
  })
  return { child, ready, exited, output: () => output }
}
