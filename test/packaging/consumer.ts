/**
 * A scratch app outside the repository, made as the README's Install says: `npm run pack` in the
 * repository, then its `npm install` of the tarballs and the peers (from the registry) in the app,
 * with a strict tsconfig and the README's examples.
 */
import { execFile, spawn } from "node:child_process"
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, join, resolve } from "node:path"
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

/** Where `npm run pack` writes the tarballs, relative to the repository's root. */
export const packs = join(root, "packs")

/** `npm run pack` in the repository, as the README's Install says: builds, then packs into ./packs. */
export const pack = async (): Promise<ReadonlyArray<string>> => {
  await check("npm", ["run", "pack", "--silent"], { cwd: root })
  return readdirSync(packs).sort()
}

/** The README's Install section: its commands, as a user copies them. */
export interface ReadmeInstall {
  /** The block's text (its first sh block). */
  readonly block: string
  /** The `npm install` line's tarballs, by file name (the folder is the reader's clone). */
  readonly tarballs: ReadonlyArray<string>
  /** The `npm install` line's other packages: the peers, by name. */
  readonly peers: ReadonlyArray<string>
}

export const readmeInstall = (): ReadmeInstall => {
  const readme = readFileSync(join(root, "README.md"), "utf8")
  const section = /\n## Install\n([\s\S]*?)\n## /.exec(readme)?.[1]
  if (section === undefined) throw new Error("the README has no Install section")
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1]
  if (block === undefined) throw new Error("the README's Install section has no sh block")
  const line = block.split("\n").find((text) => text.startsWith("npm install ") && text.includes(".tgz"))
  if (line === undefined) throw new Error(`the README's Install block installs no tarball:\n${block}`)
  const words = line.replace(/#.*$/, "").trim().split(/\s+/).slice(2)
  return {
    block,
    tarballs: words.filter((word) => word.endsWith(".tgz")).map((word) => basename(word)),
    peers: words.filter((word) => !word.endsWith(".tgz")),
  }
}

/** The README's Bundling section: its sh block's commands, as a user copies them. */
export interface ReadmeBundling {
  /** The line that installs esbuild in the app. */
  readonly install: string
  /** The `npx esbuild` line. */
  readonly esbuild: string
  /** Its entry point and the bundle it writes, relative to the app. */
  readonly entry: string
  readonly outfile: string
}

export const readmeBundling = (): ReadmeBundling => {
  const readme = readFileSync(join(root, "README.md"), "utf8")
  const section = /\n## Bundling\n([\s\S]*?)\n## /.exec(readme)?.[1]
  if (section === undefined) throw new Error("the README has no Bundling section")
  const lines = (/```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? "").split("\n")
  const install = lines.find((line) => line.startsWith("npm install ") && line.includes("esbuild"))
  const esbuild = lines.find((line) => line.startsWith("npx esbuild "))
  if (install === undefined || esbuild === undefined) {
    throw new Error(`the README's Bundling block has no esbuild install or npx esbuild line:\n${section}`)
  }
  const entry = esbuild.split(/\s+/)[2]
  const outfile = /--outfile=(\S+)/.exec(esbuild)?.[1]
  if (entry === undefined || outfile === undefined) throw new Error(`no entry or --outfile in: ${esbuild}`)
  return { install, esbuild, entry, outfile }
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

/** Every peer the three packages declare, with its range (one range per peer across them). */
export const declaredPeers = (): ReadonlyMap<string, string> => {
  const peers = new Map<string, string>()
  for (const workspace of ["core", "redis", "node"]) {
    const manifest = JSON.parse(readFileSync(join(root, "packages", workspace, "package.json"), "utf8")) as {
      peerDependencies?: Record<string, string>
    }
    for (const [name, range] of Object.entries(manifest.peerDependencies ?? {})) {
      const known = peers.get(name)
      if (known !== undefined && known !== range)
        throw new Error(`${name}: ${known} here, ${range} in @verk/${workspace}`)
      peers.set(name, range)
    }
  }
  return peers
}

/**
 * The app's tsconfig: a user's strict settings, no skipLibCheck, no `allowImportingTsExtensions`;
 * `rewriteRelativeImportExtensions` as for code that also runs under Node's type stripping
 * (producer.ts imports ./workers.ts).
 */
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
    rewriteRelativeImportExtensions: true,
    outDir: "dist",
  },
  include: ["*.ts"],
}

/**
 * Makes the app in a fresh temporary folder and runs the README's `npm install` in it: the tarballs
 * from `packs` by the README's file names, and its peers by the ranges the packages declare, as npm
 * resolves them for a user (the newest release in range, so a new release of a peer, and of what it
 * pulls, is what the test gets too).
 */
export const makeApp = async (install: ReadmeInstall): Promise<string> => {
  const peers = declaredPeers()
  const app = mkdtempSync(join(tmpdir(), "verk-consumer-"))
  const devDependencies = { "@types/node": rootVersion("@types/node") }
  writeFileSync(
    join(app, "package.json"),
    `${JSON.stringify({ name: "verk-consumer", private: true, type: "module", devDependencies }, null, 2)}\n`,
  )
  writeFileSync(join(app, "tsconfig.json"), `${JSON.stringify(tsconfig, null, 2)}\n`)
  for (const example of ["hello.ts", "workers.ts", "producer.ts", "api.ts", "threads.ts", "threadWorkers.ts"]) {
    cpSync(join(root, "test/examples", example), join(app, example))
  }
  // The package READMEs' examples, each as its own file of the app (packageCore.ts, ...).
  for (const workspace of ["core", "redis", "node"]) {
    const name = `package${workspace[0]?.toUpperCase()}${workspace.slice(1)}.ts`
    cpSync(join(root, "test/examples/packages", `${workspace}.ts`), join(app, name))
  }
  const packages = [
    ...install.tarballs.map((file) => join(packs, file)),
    ...install.peers.map((name) => {
      const range = peers.get(name)
      if (range === undefined) throw new Error(`the README installs ${name}, which no package declares as a peer`)
      return `${name}@${range}`
    }),
  ]
  await check("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...packages], { cwd: app })
  // The README's Bundling: its esbuild install line, word for word.
  await check("sh", ["-c", readmeBundling().install], { cwd: app })
  return app
}

export const tsc = (app: string) => check(bin("tsc"), ["-p", "tsconfig.json"], { cwd: app })

/**
 * The README's Bundling command in the app, word for word, or with its entry and outfile swapped for
 * `entry` and `outfile` (the same flags on another program).
 */
export const bundle = (app: string, entry?: string, outfile?: string) => {
  const readme = readmeBundling()
  const words = readme.esbuild.split(" ")
  const command = words
    .map((word, at) => (at === 2 && entry !== undefined ? entry : word))
    .join(" ")
    .replace(`--outfile=${readme.outfile}`, `--outfile=${outfile ?? readme.outfile}`)
  return check("sh", ["-c", command], { cwd: app })
}

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
