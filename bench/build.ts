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

/** Builds both worker entry points into a fresh directory under `.tmp/` (inside the repository, so node_modules resolves). */
export const buildWorkers = async (): Promise<WorkerBundles> => {
  mkdirSync(join(root, ".tmp"), { recursive: true })
  const dir = mkdtempSync(join(root, ".tmp", "bench-workers-"))
  try {
    await build({
      entryPoints: {
        verkWorker: fileURLToPath(new URL("./verkWorkerMain.ts", import.meta.url)),
        bullmqWorker: fileURLToPath(new URL("./bullmqWorkerMain.ts", import.meta.url)),
      },
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
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return {
    verk: join(dir, "verkWorker.mjs"),
    bullmq: join(dir, "bullmqWorker.mjs"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}
