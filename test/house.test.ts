/**
 * The house rules, checked on the sources of packages/*\/src by plain text reading
 * (test/support/sourceScan.ts; TypeScript 7 has no compiler API):
 * - circles: no import circle among a package's files (`import type` and `import("...")` count);
 * - file-lines: no file over 600 lines (the generated packages/redis/src/luaSources.ts excepted);
 * - function-lines: no function over 150 lines. Measured approximately, by bracket matching on the
 *   text with comments and literals blanked (`functions` in sourceScan.ts): a `function` (so every
 *   `Effect.gen(function* ...)` and `Effect.fn(...)(function* ...)` body) or a method, from its first
 *   line to its closing brace; an arrow with a block body, from `=>` to its closing brace; and a
 *   `const x = (...) => expression`, the whole declaration. Nested functions count on their own too;
 * - patterns: no `=== Effect.void`, no `Exit.isExit(`, no `FromEnv` in an exported name;
 * - docs: a `/** ... *\/` comment on every top-level exported declaration (const, let, function,
 *   class, interface, type, enum, namespace, declare) of the public modules: those the index.ts of
 *   each package re-exports, and core's testing.ts. Consecutive declarations of one name (overloads,
 *   a value and its type) may share one comment.
 * Each failure lists every offender.
 */
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import {
  exportedDeclarations,
  functions,
  importCircles,
  lineCount,
  packageNames,
  packageSources,
  readSource,
  relativeImports,
  repoRoot,
  type SourceFile,
  sourceFromText,
} from "./support/sourceScan.ts"

type Rule = "circles" | "file-lines" | "function-lines" | "patterns" | "docs"

/**
 * PENDING: offenders in files being rewritten by someone else right now, so not fixed with the
 * test. Each entry is one offender: its rule, its file, and `item` (the circle's path, the
 * function's first line, the pattern, or the exported name). An entry that no longer matches an
 * offender fails the test: remove it. Empty this list; do not add to it.
 */
const pending: ReadonlyArray<{
  readonly rule: Rule
  readonly file: string
  readonly item: string
  readonly why: string
}> = []

const MaxFileLines = 600
const MaxFunctionLines = 150
const fileLinesExcepted = new Set(["packages/redis/src/luaSources.ts"])

const sources = new Map(packageNames().map((name) => [name, packageSources(name)] as const))
const allSources = [...sources.values()].flat()

interface Offender {
  readonly file: string
  readonly item: string
  readonly message: string
}

/** The offenders that are not pending, one per line, for a failure message. */
const report = (rule: Rule, offenders: ReadonlyArray<Offender>): string =>
  offenders
    .filter((offender) => !pending.some((entry) => isPendingEntry(entry, rule, offender)))
    .map((offender) => `${offender.file}: ${offender.message}`)
    .join("\n")

const isPendingEntry = (entry: (typeof pending)[number], rule: Rule, offender: Offender): boolean =>
  entry.rule === rule && entry.file === offender.file && entry.item === offender.item

/** The file a relative specifier of `from` names, if it is one of `files`. */
const resolveImport = (from: SourceFile, specifier: string, files: ReadonlySet<string>): string | undefined => {
  const target = path
    .relative(repoRoot, path.resolve(path.dirname(from.absolute), specifier))
    .split(path.sep)
    .join("/")
  return files.has(target) ? target : undefined
}

/** The files a package's index re-exports (`export * as X from "./X.ts"`, `export * from`, `export { } from`). */
const publicModules = (name: string, extra: ReadonlyArray<string> = []): Array<SourceFile> => {
  const index = readSource(path.join(repoRoot, "packages", name, "src", "index.ts"))
  const files = new Set(sources.get(name)!.map((source) => source.file))
  const modules = relativeImports(index)
    .map((specifier) => resolveImport(index, specifier, files))
    .filter((file) => file !== undefined)
  return [...new Set([...modules, ...extra])].map((file) => readSource(path.join(repoRoot, file)))
}

const circles = (): Array<Offender> => {
  const offenders: Array<Offender> = []
  for (const files of sources.values()) {
    const names = new Set(files.map((source) => source.file))
    const graph = new Map(
      files.map((source) => {
        const imported = relativeImports(source)
          .map((specifier) => resolveImport(source, specifier, names))
          .filter((file) => file !== undefined)
        return [source.file, [...new Set(imported)]]
      }),
    )
    for (const circle of importCircles(graph)) {
      const item = circle.map((file) => path.basename(file)).join(" -> ")
      offenders.push({ file: circle[0]!, item, message: `import circle ${circle.join(" -> ")}` })
    }
  }
  return offenders
}

const fileLines = (): Array<Offender> =>
  allSources
    .filter((source) => !fileLinesExcepted.has(source.file) && lineCount(source) > MaxFileLines)
    .map((source) => ({ file: source.file, item: source.file, message: `${lineCount(source)} lines` }))

const functionLines = (): Array<Offender> =>
  allSources.flatMap((source) =>
    functions(source)
      .filter((span) => span.lines > MaxFunctionLines)
      .map((span) => ({
        file: source.file,
        item: span.label,
        message: `line ${span.line}: ${span.kind} of ${span.lines} lines: ${span.label}`,
      })),
  )

const bannedPatterns: ReadonlyArray<readonly [string, string]> = [
  ["=== Effect.void", "compares an Effect by identity: say what is meant (an Option, a flag)"],
  ["Exit.isExit(", "peeks at an Effect to see whether it is already an Exit: use an API that returns one"],
]

const exportedFromEnv =
  /\bexport\s+(?:declare\s+)?(?:async\s+)?(?:const|let|function\s*\*?|class|interface|type|enum|namespace)\s+([\w$]*FromEnv[\w$]*)|\bexport\s*\*\s*as\s+([\w$]*FromEnv[\w$]*)|\bas\s+([\w$]*FromEnv[\w$]*)\s*[,}]/g

const patterns = (): Array<Offender> => {
  const offenders: Array<Offender> = []
  for (const source of allSources) {
    for (const [pattern, why] of bannedPatterns) {
      for (let at = source.noComments.indexOf(pattern); at !== -1; at = source.noComments.indexOf(pattern, at + 1)) {
        const line = source.noComments.slice(0, at).split("\n").length
        offenders.push({ file: source.file, item: pattern, message: `line ${line}: \`${pattern}\` ${why}` })
      }
    }
    for (const match of source.code.matchAll(exportedFromEnv)) {
      const name = (match[1] ?? match[2] ?? match[3])!
      offenders.push({
        file: source.file,
        item: name,
        message: `exports ${name}: name an environment config the Effect way (\`config\`, \`layerConfig\`)`,
      })
    }
  }
  return offenders
}

const docs = (): Array<Offender> => {
  const modules = [
    ...publicModules("core", ["packages/core/src/testing.ts"]),
    ...publicModules("redis"),
    ...publicModules("node"),
  ]
  const offenders: Array<Offender> = []
  for (const source of modules) {
    let previous: { readonly name: string; readonly documented: boolean } | undefined
    for (const declaration of exportedDeclarations(source)) {
      // Consecutive declarations of one name (overloads, or a value and its type) share a comment.
      const documented = declaration.documented || (previous?.name === declaration.name && previous.documented)
      if (!documented) {
        offenders.push({
          file: source.file,
          item: declaration.name,
          message: `line ${declaration.line}: export ${declaration.name} has no /** ... */ comment`,
        })
      }
      previous = { name: declaration.name, documented }
    }
  }
  return offenders
}

const sourceOf = (text: string): SourceFile => sourceFromText("fixture.ts", text)

const rules: Record<Rule, () => ReadonlyArray<Offender>> = {
  circles,
  "file-lines": fileLines,
  "function-lines": functionLines,
  patterns,
  docs,
}

describe("house rules", () => {
  it("reads the sources", () => {
    expect([...sources.keys()]).toEqual(["core", "node", "redis"])
    for (const [name, files] of sources) expect(files.length, name).toBeGreaterThan(5)
    expect(publicModules("core").length + publicModules("redis").length + publicModules("node").length).toBeGreaterThan(
      20,
    )
  })

  it("circles: no import circle among a package's files", () => {
    expect(report("circles", circles()), "import circles (break each, e.g. with a module of the shared parts)").toBe("")
  })

  it(`file-lines: no file over ${MaxFileLines} lines`, () => {
    expect(report("file-lines", fileLines()), `files over ${MaxFileLines} lines (split them)`).toBe("")
  })

  it(`function-lines: no function over ${MaxFunctionLines} lines`, () => {
    expect(report("function-lines", functionLines()), `functions over ${MaxFunctionLines} lines (split them)`).toBe("")
  })

  it("patterns: no `=== Effect.void`, no `Exit.isExit(`, no `FromEnv` in an exported name", () => {
    expect(report("patterns", patterns()), "banned patterns").toBe("")
  })

  it("docs: every exported declaration of the public modules has a doc comment", () => {
    expect(report("docs", docs()), "exports without a doc comment").toBe("")
  })

  it("pending: every entry still names an offender", () => {
    const stale = pending.filter(
      (entry) => !rules[entry.rule]().some((offender) => isPendingEntry(entry, entry.rule, offender)),
    )
    expect(
      stale.map((entry) => `${entry.rule} ${entry.file} ${entry.item}`).join("\n"),
      "pending entries that no longer match an offender: remove them",
    ).toBe("")
  })
})

describe("the scanner", () => {
  it("blanks comments, strings, templates and regular expressions", () => {
    const source = sourceOf(
      // A template with an expression, itself holding a template: "$" and "{" written apart.
      'const a = "{ // not a comment" // a { comment\nconst b = `x{$' + "{a + `}`}y` / 2 / 1\nconst c = /[/{]/g\n",
    )
    expect(source.noComments).toContain('"{ // not a comment"')
    expect(source.noComments).not.toContain("a { comment")
    expect(source.code.includes("{")).toBe(true) // the template expression's braces
    expect(source.code.replace(/\$\{|\}/g, "")).not.toMatch(/[{}]/)
    expect(source.code).toContain("/ 2 / 1")
  })

  it("finds imports, re-exports and import() of relative files, type-only included", () => {
    const source = sourceOf(
      'import type { A } from "./a.ts"\nexport * as B from "./b.ts"\nconst c = await import("../c.ts")\nimport "./d.ts"\nimport * as E from "effect"\n// import "./e.ts"\n',
    )
    expect(relativeImports(source)).toEqual(["./a.ts", "./b.ts", "../c.ts", "./d.ts"])
  })

  it("finds circles with their path", () => {
    const graph = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a", "d"]],
      ["d", []],
      ["e", ["e"]],
    ])
    expect(importCircles(graph)).toEqual([
      ["a", "b", "c", "a"],
      ["e", "e"],
    ])
  })

  it("measures functions, methods and arrows", () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `    const x${i} = ${i}`).join("\n")
    const source = sourceOf(
      [
        "export const make = Effect.gen(function* () {",
        body(3),
        "})",
        "class A {",
        "  method(a: string): Effect.Effect<{ a: string }> {",
        body(2),
        "  }",
        "}",
        "export const f = (a: number) =>",
        "  g(",
        "    a,",
        "  )",
        "const h = async (x: { y: string }) => {",
        "  return x",
        "}",
      ].join("\n"),
    )
    expect(functions(source).map((span) => [span.line, span.lines, span.kind])).toEqual([
      [1, 5, "function"],
      [7, 4, "method"],
      [12, 4, "const arrow"],
      [16, 3, "arrow"],
    ])
  })

  it("tells documented exports from undocumented ones", () => {
    const source = sourceOf(
      "/** Doc. */\nexport const a = 1\n\n// a note\nexport const b = 2\n/** Doc. */\n// biome-ignore x\nexport function c() {\n  const inner = 1\n}\n",
    )
    expect(exportedDeclarations(source).map((declaration) => [declaration.name, declaration.documented])).toEqual([
      ["a", true],
      ["b", false],
      ["c", true],
    ])
  })
})
