/**
 * What a registry page shows for each package, checked without packing:
 * - the metadata: description, keywords, license, repository (with its directory), homepage, bugs,
 *   the same repository in all three, taken from the root package.json (the one place of truth:
 *   `npm run release` writes it into the packages, see scripts/release.ts), and `files` that ship
 *   the package's README and LICENSE;
 * - one version for the three, and each @verk/* dependency pinned to it;
 * - each package README stands alone: its name, an install line, its own example (a file of
 *   test/examples/packages verbatim, type-checked by `npm run check` and run from the tarballs by
 *   packages.test.ts), and links that are absolute URLs, those into the repository on its URL and
 *   those into the guide on a heading the root README has.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "vitest"
import { Workspaces } from "../../scripts/release.ts"
import { root } from "./consumer.ts"

interface Manifest {
  readonly name: string
  readonly version: string
  readonly description?: string
  readonly keywords?: ReadonlyArray<string>
  readonly license?: string
  readonly repository?: { readonly type?: string; readonly url?: string; readonly directory?: string }
  readonly homepage?: string
  readonly bugs?: { readonly url?: string }
  readonly files?: ReadonlyArray<string>
  readonly dependencies?: Record<string, string>
}

const read = (path: string) => readFileSync(join(root, path), "utf8")
const manifest = (path: string) => JSON.parse(read(path)) as Manifest
const rootManifest = manifest("package.json")

/** The repository's web address, from the root's `git+https://....git` URL. */
const repositoryUrl = (): string => {
  const url = rootManifest.repository?.url ?? ""
  const match = /^git\+(https:\/\/github\.com\/[^/]+\/[^/]+)\.git$/.exec(url)
  assert.isNotNull(match, `the root package.json's repository.url is not git+https://github.com/owner/name.git: ${url}`)
  return match?.[1] ?? ""
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-")

const guideAnchors = new Set(
  [...read("README.md").matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchor(match[1] ?? "")).concat("readme"),
)

describe("the root package.json", () => {
  it("names the repository, its homepage and its issues, all on one URL", () => {
    const url = repositoryUrl()
    assert.strictEqual(rootManifest.repository?.type, "git")
    assert.strictEqual(rootManifest.homepage, `${url}#readme`)
    assert.strictEqual(rootManifest.bugs?.url, `${url}/issues`)
  })
})

describe.each(Workspaces)("@verk/%s", (workspace) => {
  const packageJson = manifest(`packages/${workspace}/package.json`)
  const readme = read(`packages/${workspace}/README.md`)

  it("has a description, keywords and the root's license", () => {
    assert.strictEqual(packageJson.name, `@verk/${workspace}`)
    assert.isAbove(packageJson.description?.length ?? 0, 40)
    assert.include(packageJson.keywords ?? [], "effect")
    assert.include(packageJson.keywords ?? [], "job-queue")
    assert.strictEqual(packageJson.license, rootManifest.license)
    assert.strictEqual(read(`packages/${workspace}/LICENSE`), read("LICENSE"))
  })

  it("names the root's repository with its own directory, and the root's homepage and issues", () => {
    assert.deepStrictEqual(packageJson.repository, { ...rootManifest.repository, directory: `packages/${workspace}` })
    assert.strictEqual(packageJson.homepage, rootManifest.homepage)
    assert.deepStrictEqual(packageJson.bugs, rootManifest.bugs)
  })

  it("ships its README and LICENSE", () => {
    for (const file of ["README.md", "LICENSE"]) {
      assert.include(packageJson.files ?? [], file)
      assert.isTrue(existsSync(join(root, "packages", workspace, file)), file)
    }
  })

  it("has the version of the others, and pins the @verk/* it depends on to it", () => {
    const versions = new Set(Workspaces.map((w) => manifest(`packages/${w}/package.json`).version))
    assert.deepStrictEqual([...versions], [packageJson.version])
    for (const [name, range] of Object.entries(packageJson.dependencies ?? {})) {
      if (name.startsWith("@verk/")) assert.strictEqual(range, packageJson.version, name)
    }
  })

  it("has a README that says what it is, how to install it and shows its example", () => {
    assert.match(readme, new RegExp(`^# @verk/${workspace}\n\n\\S`))
    const install = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
      .flatMap((match) => (match[1] ?? "").split("\n"))
      .find((line) => line.startsWith("npm install "))
    assert.isDefined(install, "no npm install line")
    assert.include(install?.split(/\s+/), `@verk/${workspace}`)
    assert.include(install?.split(/\s+/), "effect")
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1])
    assert.deepStrictEqual(blocks, [read(`test/examples/packages/${workspace}.ts`)])
  })

  it("links with absolute URLs only: the repository's on its URL, the guide's on one of its headings", () => {
    const url = repositoryUrl()
    const links = [...readme.matchAll(/\]\(([^)]*)\)/g)].map((match) => match[1] ?? "")
    assert.isAbove(links.length, 2)
    for (const link of links) {
      assert.match(link, /^https:\/\//, `not an absolute URL: ${link}`)
      if (link.startsWith("https://github.com/") && !link.startsWith("https://github.com/redis/")) {
        assert.isTrue(link.startsWith(`${url}#`) || link.startsWith(`${url}/`), `not this repository: ${link}`)
      }
      if (link.startsWith(`${url}#`)) assert.isTrue(guideAnchors.has(link.slice(url.length + 1)), `no heading: ${link}`)
    }
    assert.include(links, `${url}#readme`, "no link to the guide")
    assert.notMatch(readme, /root of the (Verk for Effect )?repository|(^|[\s(`])(packages|test|src|lua|scripts)\//m)
  })
})
