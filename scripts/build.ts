/**
 * `npm run build`: regenerates `packages/redis/src/luaSources.ts` from `lua/`, then compiles each
 * package's `src/` to its `dist/` (packages/<name>/tsconfig.build.json) in dependency order: core,
 * redis (against core's built declarations), node.
 *
 * Several callers may build at once (the packaging tests each build before they pack, alongside a
 * developer's `npm run build`): a lock makes them take turns, and a build whose inputs have not
 * changed since the last one leaves `dist/` untouched, so a caller that is packing or installing
 * the built packages never sees them vanish under it. `--force` rebuilds anyway.
 */
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import { generate } from "../packages/redis/build/embedLua.ts"

const root = resolve(import.meta.dirname, "..")
const packages = ["core", "redis", "node"] as const
/** Each package's tsc projects, in order. */
const projects: Record<(typeof packages)[number], ReadonlyArray<string>> = {
  core: ["tsconfig.build.json"],
  redis: ["tsconfig.build.json"],
  node: ["tsconfig.build.json", "tsconfig.types.json"],
}
const lockDir = join(root, ".tmp/build.lock")
const stampFile = join(root, ".tmp/build-stamp")
const force = process.argv.includes("--force")

const sleep = (millis: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, millis)

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Takes the lock, waiting for another build to finish; a lock whose builder died is taken over. */
const lock = (): void => {
  mkdirSync(join(root, ".tmp"), { recursive: true })
  const deadline = Date.now() + 5 * 60_000
  for (;;) {
    try {
      mkdirSync(lockDir)
      writeFileSync(join(lockDir, "pid"), String(process.pid))
      return
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
    let holder = Number.NaN
    try {
      holder = Number(readFileSync(join(lockDir, "pid"), "utf8"))
    } catch {
      // Just created, pid not written yet: wait.
    }
    const age = Date.now() - (statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now())
    if ((Number.isInteger(holder) && holder > 0 && !alive(holder)) || age > 2 * 60_000)
      rmSync(lockDir, { recursive: true, force: true })
    else if (Date.now() > deadline) throw new Error(`another build holds ${relative(root, lockDir)}`)
    else sleep(100)
  }
}

const unlock = (): void => rmSync(lockDir, { recursive: true, force: true })

const filesUnder = (dir: string): Array<string> =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name))
    : []

/** A digest of everything the output depends on. */
const inputsDigest = (): string => {
  const inputs = [
    ...packages.flatMap((name) => [
      ...filesUnder(join(root, "packages", name, "src")),
      ...readdirSync(join(root, "packages", name))
        .filter((file) => /^tsconfig.*\.json$|^package\.json$/.test(file))
        .map((file) => join(root, "packages", name, file)),
    ]),
    join(root, "tsconfig.json"),
    join(root, "package-lock.json"),
    join(root, "scripts/build.ts"),
  ].sort()
  const hash = createHash("sha256")
  for (const file of inputs)
    hash
      .update(`${relative(root, file)}\0`)
      .update(readFileSync(file))
      .update("\0")
  return hash.digest("hex")
}

const built = (): boolean => packages.every((name) => existsSync(join(root, "packages", name, "dist/index.js")))

const tsc = (project: string): void => {
  const started = Date.now()
  const result = spawnSync(join(root, "node_modules/.bin/tsc"), ["-p", project], { cwd: root, stdio: "inherit" })
  if (result.error !== undefined) throw result.error
  if (result.status !== 0) throw new Error(`tsc -p ${project} failed`)
  console.log(`built ${project} in ${Date.now() - started} ms`)
}

lock()
try {
  if (generate()) console.log("regenerated packages/redis/src/luaSources.ts from lua/")
  const digest = inputsDigest()
  const previous = existsSync(stampFile) ? readFileSync(stampFile, "utf8") : undefined
  if (!force && previous === digest && built()) {
    console.log("packages/*/dist are up to date")
  } else {
    rmSync(stampFile, { force: true })
    for (const name of packages) rmSync(join(root, "packages", name, "dist"), { recursive: true, force: true })
    for (const name of packages) for (const project of projects[name]) tsc(`packages/${name}/${project}`)
    writeFileSync(stampFile, digest)
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
} finally {
  unlock()
}
