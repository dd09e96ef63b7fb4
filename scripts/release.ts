/**
 * `npm run release -- <version> [--dry-run]`: releases the three packages together, as one version.
 *
 * 1. Bumps (see `bump`): the three packages' `version`, their `@verk/*` dependencies (pinned to the
 *    same version), package-lock.json, the `verk --version` of packages/node/src/bin.ts, the
 *    tarball names of the README's Install, and the Changelog's "### Unreleased" heading, which
 *    becomes "### <version> (<date>)". It also writes the root package.json's repository, homepage
 *    and bugs into the packages (the root holds them once; test/packaging/metadata.test.ts checks).
 * 2. `npm run pack`: builds, then writes packs/verk-{core,redis,node}-<version>.tgz.
 * 3. `npm publish` of each tarball in dependency order (core, redis, node), skipping one the
 *    registry already has, so a release stopped halfway is finished by running it again. A
 *    pre-release (`1.0.0-rc.1`) is published under the `next` tag.
 *
 * `--dry-run` does all of that except the upload (`npm publish --dry-run`): the files are bumped and
 * the tarballs made, for a look at the diff (`git checkout -- .` undoes it). The registry is npm's
 * configured one (`npm_config_registry` or .npmrc), as for any `npm publish`.
 */
import { execFileSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"

/** The packages, in dependency order: each depends only on those before it. */
export const Workspaces = ["core", "redis", "node"] as const
export type Workspace = (typeof Workspaces)[number]

/** A version npm accepts: major.minor.patch, with an optional pre-release (`1.0.0-rc.1`). */
const VersionPattern = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/

/** The fields a registry page shows that the root package.json holds for the three packages. */
const SharedFields = ["repository", "homepage", "bugs"] as const

type Json = Record<string, unknown>

const readJson = (file: string): Json => JSON.parse(readFileSync(file, "utf8")) as Json

/** A file's text with each pattern replaced; fails when one is not there (the file changed shape). */
const replaced = (root: string, file: string, edits: ReadonlyArray<readonly [RegExp, string]>): string =>
  edits.reduce(
    (text, [pattern, replacement]) => {
      if (text.search(pattern) === -1) throw new Error(`${file}: found no ${pattern}`)
      return text.replace(pattern, replacement)
    },
    readFileSync(join(root, file), "utf8"),
  )

/** Each `@verk/*` entry of `dependencies` set to `version`. */
const pinVerk = (dependencies: unknown, version: string): unknown =>
  dependencies === undefined
    ? undefined
    : Object.fromEntries(
        Object.entries(dependencies as Record<string, string>).map(([name, range]) => [
          name,
          name.startsWith("@verk/") ? version : range,
        ]),
      )

/** The version the three packages have now; they must agree. */
export const currentVersion = (root: string): string => {
  const versions = new Set(Workspaces.map((w) => readJson(join(root, "packages", w, "package.json")).version))
  if (versions.size !== 1) throw new Error(`the packages disagree on their version: ${[...versions].join(", ")}`)
  return String([...versions][0])
}

/** What `bump` did: the version before and after, and the files it wrote. */
export interface Bumped {
  readonly from: string
  readonly to: string
  readonly files: ReadonlyArray<string>
}

/**
 * Writes `version` everywhere the release names it (see the module's comment), in the repository at
 * `root`; `date` (YYYY-MM-DD) goes on the Changelog's heading. Fails before writing anything when the
 * version is malformed, is the current one, or the Changelog has no "### Unreleased".
 */
export const bump = (root: string, version: string, date: string): Bumped => {
  if (!VersionPattern.test(version)) throw new Error(`not a version: "${version}" (expected e.g. 0.2.0)`)
  const from = currentVersion(root)
  if (from === version) throw new Error(`the packages are at ${version} already`)
  if (!/^### Unreleased$/m.test(readFileSync(join(root, "README.md"), "utf8"))) {
    throw new Error("the README's Changelog has no '### Unreleased' heading: nothing to release")
  }
  // Every file's new text first, then the writes: a failure leaves the repository as it was.
  const writes = new Map<string, string>()
  const json = (value: Json) => `${JSON.stringify(value, null, 2)}\n`

  const shared = readJson(join(root, "package.json"))
  for (const workspace of Workspaces) {
    const file = `packages/${workspace}/package.json`
    const manifest = readJson(join(root, file))
    manifest.version = version
    if (manifest.dependencies !== undefined) manifest.dependencies = pinVerk(manifest.dependencies, version)
    for (const field of SharedFields) {
      const value = shared[field]
      if (value === undefined) throw new Error(`the root package.json has no ${field}`)
      manifest[field] =
        field === "repository" ? { ...(value as Json), directory: `packages/${workspace}` } : structuredClone(value)
    }
    writes.set(file, json(manifest))
  }

  const lock = readJson(join(root, "package-lock.json"))
  const locked = lock.packages as Record<string, Json>
  for (const workspace of Workspaces) {
    const entry = locked[`packages/${workspace}`]
    if (entry === undefined) throw new Error(`package-lock.json has no packages/${workspace}`)
    entry.version = version
    if (entry.dependencies !== undefined) entry.dependencies = pinVerk(entry.dependencies, version)
  }
  writes.set("package-lock.json", json(lock))

  const bin = "packages/node/src/bin.ts"
  writes.set(
    bin,
    replaced(root, bin, [[/Command\.run\(\{ version: "[^"]*" \}\)/, `Command.run({ version: "${version}" })`]]),
  )

  const tarball = new RegExp(`verk-(${Workspaces.join("|")})-${from.replace(/\./g, "\\.")}\\.tgz`, "g")
  writes.set(
    "README.md",
    replaced(root, "README.md", [
      [tarball, `verk-$1-${version}.tgz`],
      [/^### Unreleased$/m, `### ${version} (${date})`],
    ]),
  )

  for (const [file, text] of writes) writeFileSync(join(root, file), text)
  return { from, to: version, files: [...writes.keys()] }
}

/** The tarball `npm run pack` writes for a package, relative to the root. */
export const tarball = (workspace: Workspace, version: string) => `./packs/verk-${workspace}-${version}.tgz`

/** Whether the registry has `@verk/<workspace>@<version>` (an error, a 404 included, is a no). */
const published = (root: string, workspace: Workspace, version: string): boolean => {
  try {
    const out = execFileSync("npm", ["view", `@verk/${workspace}@${version}`, "version", "--json"], {
      cwd: root,
      stdio: ["ignore", "pipe", "ignore"],
      encoding: "utf8",
    })
    return out.includes(`"${version}"`)
  } catch {
    return false
  }
}

const npm = (root: string, args: ReadonlyArray<string>) => {
  console.log(`> npm ${args.join(" ")}`)
  execFileSync("npm", [...args], { cwd: root, stdio: "inherit" })
}

/** Bumps, packs and publishes: the whole release (see the module's comment). */
export const release = (
  root: string,
  version: string,
  options: { readonly dryRun: boolean; readonly date: string },
) => {
  // Resuming a release that stopped after its bump (a failed build or publish) bumps nothing again.
  const resumed =
    currentVersion(root) === version && readFileSync(join(root, "README.md"), "utf8").includes(`### ${version} (`)
  if (!resumed) {
    const bumped = bump(root, version, options.date)
    console.log(`bumped ${bumped.from} → ${bumped.to}: ${bumped.files.join(", ")}`)
  }
  npm(root, ["run", "pack"])
  for (const workspace of Workspaces) {
    if (published(root, workspace, version)) {
      console.log(`@verk/${workspace}@${version} is on the registry already`)
      continue
    }
    // A pre-release goes out under `next`, so `npm install @verk/core` keeps the latest release.
    const tag = version.includes("-") ? ["--tag", "next"] : []
    const dryRun = options.dryRun ? ["--dry-run"] : []
    npm(root, ["publish", tarball(workspace, version), "--access", "public", ...tag, ...dryRun])
  }
  console.log(
    options.dryRun
      ? `dry run: nothing published; undo the bump with git checkout -- .`
      : `published ${version}; now: git commit -am "Release ${version}" && git tag v${version}`,
  )
}

if (import.meta.main) {
  const args = process.argv.slice(2)
  const dryRun = args.includes("--dry-run")
  const versions = args.filter((arg) => arg !== "--dry-run")
  if (versions.length !== 1 || versions[0]?.startsWith("-")) {
    console.error("usage: npm run release -- <version> [--dry-run]")
    process.exit(2)
  }
  try {
    const date = new Date().toISOString().slice(0, 10)
    release(resolve(import.meta.dirname, ".."), versions[0] ?? "", { dryRun, date })
  } catch (error) {
    console.error(`release: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  }
}
