/**
 * The worker processes run JavaScript, as they would in production, not `.ts` through Node's type
 * stripping (which alone adds ~18 MiB to a process's RSS and slows its start): esbuild bundles each
 * worker's entry point with Verk's own packages inlined from their sources (the `@verk/source`
 * condition) and every other package (effect, ioredis, bullmq, ...) left to node_modules.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { build, type Plugin } from "esbuild"

const root = fileURLToPath(new URL("..", import.meta.url))

/** Bare imports other than `@verk/*` stay imports, resolved from node_modules at run time. */
const externalPackages: Plugin = {
  name: "external-packages",
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@verk/") ? undefined : { path: args.path, external: true },
    )
  },
}

export interface WorkerBundles {
  readonly verk: string
  readonly bullmq: string
  readonly remove: () => void
}

/**
 * Bundles `entries` (output name → entry module URL) into a fresh directory under `.tmp/` whose
 * name starts with `prefix` (inside the repository, so node_modules resolves); returns each
 * bundle's path and a way to remove them.
 */
export const bundleEntries = async <Name extends string>(
  prefix: string,
  entries: Readonly<Record<Name, URL>>,
): Promise<{ readonly paths: Readonly<Record<Name, string>>; readonly remove: () => void }> => {
  mkdirSync(join(root, ".tmp"), { recursive: true })
  const dir = mkdtempSync(join(root, ".tmp", prefix))
  const remove = () => rmSync(dir, { recursive: true, force: true })
  const names = Object.keys(entries) as Array<Name>
  try {
    await build({
      entryPoints: Object.fromEntries(names.map((name) => [name, fileURLToPath(entries[name])])),
      outdir: dir,
      outExtension: { ".js": ".mjs" },
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node22",
      conditions: ["@verk/source"],
      plugins: [externalPackages],
      logLevel: "warning",
    })
  } catch (error) {
    remove()
    throw error
  }
  const paths = Object.fromEntries(names.map((name) => [name, join(dir, `${name}.mjs`)])) as Record<Name, string>
  return { paths, remove }
}

/** Builds both worker entry points. */
export const buildWorkers = async (): Promise<WorkerBundles> => {
  const { paths, remove } = await bundleEntries("bench-workers-", {
    verkWorker: new URL("./verkWorkerMain.ts", import.meta.url),
    bullmqWorker: new URL("./bullmqWorkerMain.ts", import.meta.url),
  })
  return { verk: paths.verkWorker, bullmq: paths.bullmqWorker, remove }
}
