/**
 * `verk run ./workers.ts` on a Node that does not strip types (Node 20): Node's error blames the
 * module (`Unknown file extension ".ts"`), the one line names the Node version and what would work.
 * Node 24 runs the suite, so the failure is made here: an error with Node's code and message.
 */
import { describe, expect, it } from "vitest"
import { line } from "../../packages/node/src/cli/errors.ts"
import { loadFailure, TypeScriptNeedsNewerNode } from "../../packages/node/src/cli/run.ts"

const unknownExtension = (extension: string, file: string) =>
  Object.assign(new TypeError(`Unknown file extension "${extension}" for ${file}`), {
    code: "ERR_UNKNOWN_FILE_EXTENSION",
  })

describe("loadFailure", () => {
  it("a .ts module on Node 20: the Node version is named, with Node ≥ 22.18 or a build to .js", () => {
    const error = loadFailure("./workers.ts", "/app/workers.ts", unknownExtension(".ts", "/app/workers.ts"), "v20.19.0")
    expect(error).toBeInstanceOf(TypeScriptNeedsNewerNode)
    expect(`verk: ${line(error)}`).toBe(
      'verk: cannot load ./workers.ts: Node v20.19.0 does not run TypeScript (Unknown file extension ".ts" for /app/workers.ts); running .ts directly needs Node ≥ 22.18 (type stripping), or build the module to .js and run that',
    )
  })

  it("a .js module importing a .mts file: the same line, naming the file Node could not load", () => {
    const error = loadFailure("./workers.js", "/app/workers.js", unknownExtension(".mts", "/app/jobs.mts"), "v20.19.0")
    expect(line(error)).toContain(
      'Node v20.19.0 does not run TypeScript (Unknown file extension ".mts" for /app/jobs.mts)',
    )
  })

  it("the version in use by default", () => {
    const error = loadFailure("./workers.ts", "/app/workers.ts", unknownExtension(".ts", "/app/workers.ts"))
    expect(line(error)).toContain(`Node ${process.version} does not run TypeScript`)
  })

  it("another unknown extension, or another error: the module threw (ModuleThrew), as before", () => {
    const coffee = loadFailure("./w.coffee", "/app/w.coffee", unknownExtension(".coffee", "/app/w.coffee"), "v20.19.0")
    expect(coffee._tag).toBe("ModuleThrew")
    const boom = loadFailure("./w.ts", "/app/w.ts", new Error("boom"), "v20.19.0")
    expect(boom._tag).toBe("ModuleThrew")
    expect(line(boom)).toMatch(/^\.\/w\.ts threw while loading: Error: boom/)
  })
})
