/**
 * The release procedure (scripts/release.ts), on copies of the repository in temporary folders,
 * never on the repository itself:
 * - `bump` writes one new version into the three packages, their @verk/* dependencies, the lock
 *   file, `verk --version`, the README's tarball names and the Changelog's heading, or fails on bad
 *   input having written nothing;
 * - `npm run release -- <version> --dry-run`, against a registry this test serves (which records
 *   every request), bumps, builds, packs tarballs of the new version and publishes them in
 *   dependency order as a dry run: the registry receives no upload. The same command without
 *   `--dry-run` then uploads the three, core, redis, node, each pinning the others at the version.
 */
import { execFileSync } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "vitest"
import { bump, currentVersion, Workspaces } from "../../scripts/release.ts"
import { check, root } from "./consumer.ts"

const copies: Array<string> = []
afterAll(() => {
  for (const copy of copies) rmSync(copy, { recursive: true, force: true })
})

/**
 * The files a release reads and builds, copied; `node_modules` links the repository's own, except
 * `@verk/*`, which link the copy's packages (so the copy builds against its own `dist`).
 */
const copyRepository = (): string => {
  const copy = mkdtempSync(join(tmpdir(), "verk-release-"))
  copies.push(copy)
  for (const file of ["package.json", "package-lock.json", "README.md", "LICENSE", "tsconfig.json"]) {
    cpSync(join(root, file), join(copy, file))
  }
  for (const dir of ["lua", "scripts"]) cpSync(join(root, dir), join(copy, dir), { recursive: true })
  for (const workspace of Workspaces) {
    for (const entry of readdirSync(join(root, "packages", workspace))) {
      if (entry === "dist" || entry === "test") continue
      cpSync(join(root, "packages", workspace, entry), join(copy, "packages", workspace, entry), { recursive: true })
    }
  }
  mkdirSync(join(copy, "node_modules/@verk"), { recursive: true })
  for (const entry of readdirSync(join(root, "node_modules"))) {
    if (entry !== "@verk") symlinkSync(join(root, "node_modules", entry), join(copy, "node_modules", entry))
  }
  for (const workspace of Workspaces) {
    symlinkSync(`../../packages/${workspace}`, join(copy, "node_modules/@verk", workspace))
  }
  return copy
}

type Json = Record<string, unknown> & {
  version?: string
  dependencies?: Record<string, string>
  packages?: Record<string, Json>
}
const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8")) as Json
const text = (copy: string, file: string) => readFileSync(join(copy, file), "utf8")
const from = currentVersion(root)

/** Asserts the copy is at `version` everywhere a release names it. */
const assertAt = (copy: string, version: string) => {
  for (const workspace of Workspaces) {
    const manifest = readJson(join(copy, "packages", workspace, "package.json"))
    assert.strictEqual(manifest.version, version, workspace)
    const verk = Object.entries(manifest.dependencies ?? {}).filter(([name]) => name.startsWith("@verk/"))
    if (workspace !== "core") assert.isNotEmpty(verk, `@verk/${workspace} depends on no @verk package`)
    for (const [name, range] of verk) assert.strictEqual(range, version, `${workspace} → ${name}`)
    const locked = readJson(join(copy, "package-lock.json")).packages?.[`packages/${workspace}`]
    assert.strictEqual(locked?.version, version, `package-lock.json: ${workspace}`)
    for (const [name, range] of Object.entries(locked?.dependencies ?? {})) {
      if (name.startsWith("@verk/")) assert.strictEqual(range, version, `package-lock.json: ${workspace} → ${name}`)
    }
  }
  assert.include(text(copy, "packages/node/src/bin.ts"), `Command.run({ version: "${version}" })`)
  const install = /\n## Install\n([\s\S]*?)\n## /.exec(text(copy, "README.md"))?.[1] ?? ""
  for (const workspace of Workspaces) assert.include(install, `packs/verk-${workspace}-${version}.tgz`)
}

describe("bump", () => {
  it("moves the three packages, their @verk/* dependencies, the lock, the bin, the Install and the Changelog together", () => {
    const copy = copyRepository()
    const readmeBefore = text(copy, "README.md")
    const unreleased = /\n### Unreleased\n([\s\S]*?)\n### /.exec(readmeBefore)?.[1]
    assert.isDefined(unreleased, "the Changelog has an Unreleased section")

    const bumped = bump(copy, "0.2.0", "2027-01-02")

    assert.strictEqual(bumped.from, from)
    assert.strictEqual(bumped.to, "0.2.0")
    assertAt(copy, "0.2.0")
    const readme = text(copy, "README.md")
    assert.notMatch(readme, /^### Unreleased$/m)
    assert.include(readme, `\n### 0.2.0 (2027-01-02)\n${unreleased}\n### `, "the section kept its lines")
    assert.notMatch(readme, new RegExp(`verk-(core|redis|node)-${from.replace(/\./g, "\\.")}\\.tgz`))
    // Only the version changed: the rest of each manifest is as it was.
    for (const workspace of Workspaces) {
      const rest = ({ version: _, dependencies: __, ...others }: Json) => others
      assert.deepStrictEqual(
        rest(readJson(join(copy, "packages", workspace, "package.json"))),
        rest(readJson(join(root, "packages", workspace, "package.json"))),
        workspace,
      )
    }
  })

  it("refuses a malformed version, the current one, or a Changelog with nothing unreleased, writing nothing", () => {
    const copy = copyRepository()
    const files = ["README.md", "package-lock.json", ...Workspaces.map((w) => `packages/${w}/package.json`)]
    const snapshot = () => files.map((file) => text(copy, file))
    const before = snapshot()
    assert.throws(() => bump(copy, "1.2", "2027-01-02"), /not a version/)
    assert.throws(() => bump(copy, from, "2027-01-02"), /already/)
    bump(copy, "0.2.0", "2027-01-02")
    assert.notDeepEqual(snapshot(), before)
    const bumped = snapshot()
    assert.throws(() => bump(copy, "0.3.0", "2027-01-02"), /no '### Unreleased'/)
    assert.deepStrictEqual(snapshot(), bumped)
  })
})

/** What the registry received in a PUT: the package, and each version's @verk/* dependencies. */
interface Upload {
  readonly name: string
  readonly versions: Record<string, Record<string, string>>
}

/** An npm registry that has no package, accepts any upload, and records every request it gets. */
const serveRegistry = async () => {
  const requests: Array<string> = []
  const uploads: Array<Upload> = []
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`)
    let body = ""
    request.on("data", (chunk: Buffer) => (body += chunk.toString()))
    request.on("end", () => {
      if (request.method === "PUT") {
        const document = JSON.parse(body) as { name: string; versions: Record<string, Json> }
        const versions = Object.fromEntries(
          Object.entries(document.versions).map(([version, manifest]) => [
            version,
            Object.fromEntries(
              Object.entries(manifest.dependencies ?? {}).filter(([name]) => name.startsWith("@verk/")),
            ),
          ]),
        )
        uploads.push({ name: document.name, versions })
        response.writeHead(201, { "content-type": "application/json" }).end("{}")
      } else response.writeHead(404, { "content-type": "application/json" }).end('{"error":"Not found"}')
    })
  })
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/`, requests, uploads, close: () => server.close() }
}

describe("npm run release -- <version>", () => {
  it("as a dry run bumps, builds and packs the new version and publishes core, redis, node in that order, uploading nothing; then for real, it uploads them", {
    timeout: 5 * 60_000,
  }, async () => {
    const copy = copyRepository()
    const registry = await serveRegistry()
    try {
      const ran = await check("npm", ["run", "release", "--", "0.2.0", "--dry-run"], {
        cwd: copy,
        env: { npm_config_registry: registry.url },
      })
      const output = `${ran.stdout}${ran.stderr}`
      assertAt(copy, "0.2.0")

      const packed = readdirSync(join(copy, "packs")).sort()
      assert.deepStrictEqual(packed, ["verk-core-0.2.0.tgz", "verk-node-0.2.0.tgz", "verk-redis-0.2.0.tgz"])
      for (const workspace of Workspaces) {
        const inside = JSON.parse(
          execFileSync("tar", ["-xzOf", join(copy, "packs", `verk-${workspace}-0.2.0.tgz`), "package/package.json"], {
            encoding: "utf8",
          }),
        ) as Json
        assert.strictEqual(inside.version, "0.2.0", workspace)
        for (const [name, range] of Object.entries(inside.dependencies ?? {})) {
          if (name.startsWith("@verk/")) assert.strictEqual(range, "0.2.0", `${workspace} → ${name}`)
        }
      }
      const published = Workspaces.map((w) => output.indexOf(`@verk/${w}@0.2.0`))
      for (const at of published) assert.isAtLeast(at, 0, output)
      assert.deepStrictEqual(
        [...published].sort((a, b) => a - b),
        published,
        "core, then redis, then node",
      )
      assert.include(output, "dry run: nothing published")
      assert.deepStrictEqual(
        registry.requests.filter((request) => !request.startsWith("GET ")),
        [],
        "the registry received an upload",
      )
      assert.strictEqual(currentVersion(root), from, "the repository itself is untouched")

      // The same command without --dry-run, as after a look at the dry run's result: it resumes
      // (nothing bumped twice), packs again and uploads the three, in dependency order.
      const host = new URL(registry.url).host
      writeFileSync(join(copy, ".npmrc"), `//${host}/:_authToken=release-test\n`)
      const real = await check("npm", ["run", "release", "--", "0.2.0"], {
        cwd: copy,
        env: { npm_config_registry: registry.url },
      })
      assert.include(`${real.stdout}${real.stderr}`, "published 0.2.0")
      assert.deepStrictEqual(registry.uploads, [
        { name: "@verk/core", versions: { "0.2.0": {} } },
        { name: "@verk/redis", versions: { "0.2.0": { "@verk/core": "0.2.0" } } },
        { name: "@verk/node", versions: { "0.2.0": { "@verk/core": "0.2.0", "@verk/redis": "0.2.0" } } },
      ])
      assertAt(copy, "0.2.0")
      assert.lengthOf(text(copy, "README.md").match(/^### 0\.2\.0 /gm) ?? [], 1, "the Changelog moved once")
    } finally {
      registry.close()
    }
  })
})
