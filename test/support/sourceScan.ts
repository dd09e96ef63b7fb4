/**
 * A plain-text reader of this repository's TypeScript sources for the house rules (test/house.test.ts).
 * No compiler: TypeScript 7 has no compiler API. It relies on the sources being Biome-formatted
 * (two-space indentation, one declaration per line) and is approximate on purpose: it masks
 * comments, strings, template text and regular expressions, then matches brackets.
 */
import * as fs from "node:fs"
import * as path from "node:path"

/** A source file: its text, the text with comments blanked, and the text with every literal blanked too. */
export interface SourceFile {
  /** Path from the repository root, with forward slashes. */
  readonly file: string
  readonly absolute: string
  readonly text: string
  /** `text` with comments replaced by spaces (newlines kept): positions and lines are unchanged. */
  readonly noComments: string
  /** `noComments` with the contents of strings, template text and regular expressions blanked too. */
  readonly code: string
  /** Offset of the start of each line. */
  readonly lineStarts: ReadonlyArray<number>
}

export const repoRoot = path.resolve(import.meta.dirname, "..", "..")

const walk = (dir: string): Array<string> =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) return walk(full)
      return entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [full] : []
    })
    .sort()

/** The packages under packages/ that have a src/ folder. */
export const packageNames = (): Array<string> =>
  fs
    .readdirSync(path.join(repoRoot, "packages"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(repoRoot, "packages", entry.name, "src")))
    .map((entry) => entry.name)
    .sort()

/** Every `.ts` file under packages/<name>/src. */
export const packageSources = (name: string): Array<SourceFile> =>
  walk(path.join(repoRoot, "packages", name, "src")).map(readSource)

/** The file at `absolute`. */
export const readSource = (absolute: string): SourceFile =>
  sourceFromText(path.relative(repoRoot, absolute).split(path.sep).join("/"), fs.readFileSync(absolute, "utf8"))

/** A source file of the given text (for the scanner's own tests). */
export const sourceFromText = (file: string, text: string): SourceFile => {
  const { noComments, code } = mask(text)
  const lineStarts = [0]
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") lineStarts.push(i + 1)
  return { file, absolute: path.resolve(repoRoot, file), text, noComments, code, lineStarts }
}

/** The 1-based line of `offset`. */
export const lineOf = (source: SourceFile, offset: number): number => {
  let low = 0
  let high = source.lineStarts.length - 1
  while (low < high) {
    const mid = (low + high + 1) >> 1
    if (source.lineStarts[mid]! <= offset) low = mid
    else high = mid - 1
  }
  return low + 1
}

/** The number of lines of a file (a final newline does not start another line). */
export const lineCount = (source: SourceFile): number =>
  source.text.endsWith("\n") ? source.lineStarts.length - 1 : source.lineStarts.length

/** Line `line` (1-based) of the original text. */
export const lineText = (source: SourceFile, line: number): string => {
  const start = source.lineStarts[line - 1] ?? source.text.length
  const end = source.lineStarts[line] ?? source.text.length + 1
  return source.text.slice(start, end - 1)
}

const regexAfterWords = new Set([
  "return",
  "typeof",
  "case",
  "do",
  "else",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "yield",
  "await",
])

/**
 * Blanks comments (first output) and then literal contents (second output). Quotes stay, so a
 * literal is still a token. `${ ... }` inside a template is code. A `/` starts a regular expression
 * when the previous token cannot end an operand (the usual heuristic).
 */
const mask = (text: string): { readonly noComments: string; readonly code: string } => {
  const noComments = text.split("")
  const code = text.split("")
  const blank = (out: Array<string>, from: number, to: number) => {
    for (let i = from; i < to; i++) if (out[i] !== "\n") out[i] = " "
  }
  // One entry per open template expression: the brace depth inside it.
  const templates: Array<number> = []
  let i = 0
  const previousSignificant = (): { readonly char: string; readonly word: string } => {
    let j = i - 1
    while (j >= 0 && /\s/.test(code[j]!)) j--
    if (j < 0) return { char: "", word: "" }
    let k = j
    while (k >= 0 && /[\w$]/.test(code[k]!)) k--
    return { char: code[j]!, word: code.slice(k + 1, j + 1).join("") }
  }
  const scanTemplateText = () => {
    // At the first character after "`" or after the "}" closing an expression.
    const start = i
    while (i < text.length) {
      const c = text[i]
      if (c === "\\") {
        i += 2
        continue
      }
      if (c === "`") {
        blank(code, start, i)
        i++
        return
      }
      if (c === "$" && text[i + 1] === "{") {
        blank(code, start, i)
        i += 2
        templates.push(0)
        return
      }
      i++
    }
    blank(code, start, i)
  }
  while (i < text.length) {
    const c = text[i]!
    const next = text[i + 1]
    if (c === "/" && next === "/") {
      const end = text.indexOf("\n", i)
      const stop = end === -1 ? text.length : end
      blank(noComments, i, stop)
      blank(code, i, stop)
      i = stop
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2)
      const stop = end === -1 ? text.length : end + 2
      blank(noComments, i, stop)
      blank(code, i, stop)
      i = stop
    } else if (c === '"' || c === "'") {
      const start = ++i
      while (i < text.length && text[i] !== c && text[i] !== "\n") i += text[i] === "\\" ? 2 : 1
      blank(code, start, i)
      i++
    } else if (c === "`") {
      i++
      scanTemplateText()
    } else if (c === "/") {
      const { char, word } = previousSignificant()
      const isRegex = char === "" || "(,=:[!&|?{};+-*%<>~^".includes(char) || regexAfterWords.has(word)
      if (!isRegex) {
        i++
        continue
      }
      const start = ++i
      let inClass = false
      while (i < text.length && text[i] !== "\n") {
        const r = text[i]
        if (r === "\\") {
          i += 2
          continue
        }
        if (r === "[") inClass = true
        else if (r === "]") inClass = false
        else if (r === "/" && !inClass) break
        i++
      }
      blank(code, start, i)
      i++
    } else if (c === "{") {
      if (templates.length > 0) templates[templates.length - 1]!++
      i++
    } else if (c === "}") {
      if (templates.length > 0 && templates[templates.length - 1] === 0) {
        templates.pop()
        i++
        scanTemplateText()
      } else {
        if (templates.length > 0) templates[templates.length - 1]!--
        i++
      }
    } else {
      i++
    }
  }
  return { noComments: noComments.join(""), code: code.join("") }
}

const openers: Record<string, string> = { "(": ")", "[": "]", "{": "}" }
const closers = new Set([")", "]", "}"])

/** The offset of the bracket matching the one at `open` in `code`, or -1. */
export const matchBracket = (code: string, open: number): number => {
  let depth = 0
  for (let i = open; i < code.length; i++) {
    const c = code[i]!
    if (c in openers) depth++
    else if (closers.has(c)) {
      depth--
      if (depth === 0) return i
    }
  }
  return -1
}

/** The relative specifiers a file imports or re-exports (`import type` and `import("...")` included). */
export const relativeImports = (source: SourceFile): Array<string> => {
  const found: Array<string> = []
  const pattern =
    /\bfrom\s*["'](\.{1,2}\/[^"']+)["']|\bimport\s*\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)|\bimport\s+["'](\.{1,2}\/[^"']+)["']/g
  for (const match of source.noComments.matchAll(pattern)) found.push((match[1] ?? match[2] ?? match[3])!)
  return found
}

/** A function found by `functions`. */
export interface FunctionSpan {
  readonly file: string
  /** 1-based line where it starts (the `function` keyword, the method's name, the arrow's `=>` or the `const`). */
  readonly line: number
  readonly lines: number
  readonly kind: "function" | "method" | "arrow" | "const arrow"
  /** The first line of its text, trimmed, to name it in a message. */
  readonly label: string
}

const controlWords = new Set(["if", "for", "while", "switch", "catch", "with", "return", "typeof", "await", "yield"])

/** From `from` (just after `)` or a return type's `:`), the offset of a function body's `{`, or -1. */
const bodyAfterParams = (code: string, from: number): number => {
  let i = from
  while (/\s/.test(code[i] ?? "")) i++
  if (code[i] === "{") return i
  if (code[i] !== ":") return -1
  // A return type: skip it, at bracket depth 0, to a `{` that follows the end of a type (not an
  // object type, which follows `:`, `|`, `&`, `,`, `(`, `<` or `=>`).
  i++
  let angle = 0
  let last = ":"
  while (i < code.length) {
    const c = code[i]!
    if (/\s/.test(c)) {
      i++
      continue
    }
    if (c === "=" && code[i + 1] === ">") {
      last = "=>"
      i += 2
      continue
    }
    if (c === "<") angle++
    else if (c === ">") angle--
    else if (c === "(" || c === "[" || (c === "{" && (angle > 0 || /^(:|\||&|,|\(|<|=>)$/.test(last)))) {
      const end = matchBracket(code, i)
      if (end === -1) return -1
      last = code[end]!
      i = end + 1
      continue
    } else if (c === "{") return i
    else if (angle === 0 && (c === ";" || c === "=" || c === "," || c === ")" || c === "}")) return -1
    last = c
    i++
  }
  return -1
}

/** The offset just after the expression that starts at `from`: ASI-like, on formatted code. */
const expressionEnd = (code: string, from: number, indent: number): number => {
  let depth = 0
  for (let i = from; i < code.length; i++) {
    const c = code[i]!
    if (c in openers) depth++
    else if (closers.has(c)) {
      if (depth === 0) return i
      depth--
    } else if (depth === 0 && (c === ";" || c === ",")) return i
    else if (depth === 0 && c === "\n") {
      // The next non-blank line, indented no deeper than the declaration, starts something else.
      let j = i + 1
      while (j < code.length && /\s/.test(code[j]!)) {
        if (code[j] === "\n") i = j
        j++
      }
      if (j - (i + 1) <= indent) return i
    }
  }
  return code.length
}

const indentAt = (source: SourceFile, offset: number): number => {
  const line = lineOf(source, offset)
  const text = lineText(source, line)
  return text.length - text.trimStart().length
}

/**
 * The functions of a file, with their length in lines (first line to last line, inclusive):
 * - `function` declarations and expressions (`Effect.gen(function* () { ... })` included), and
 *   methods of classes and object literals (`name(...) {`, `get name() {`): from the keyword or
 *   the name to the brace closing the body;
 * - arrow functions with a block body (`=> { ... }`): from the `=>` to the closing brace;
 * - `const name = (...) => expression` and `const name = async (...) =>`: the whole declaration,
 *   from `const` to the end of the expression (found by indentation, so formatted code only).
 * Nested functions are counted again on their own. Type-level arrows (`(a: A) => B` in a type) may
 * be counted too: they are short.
 */
export const functions = (source: SourceFile): Array<FunctionSpan> => {
  const { code } = source
  const spans = new Map<number, FunctionSpan>()
  const add = (start: number, end: number, kind: FunctionSpan["kind"]) => {
    const line = lineOf(source, start)
    const lines = lineOf(source, end) - line + 1
    const existing = spans.get(line)
    if (existing === undefined || existing.lines < lines) {
      spans.set(line, { file: source.file, line, lines, kind, label: lineText(source, line).trim().slice(0, 100) })
    }
  }
  for (let open = code.indexOf("("); open !== -1; open = code.indexOf("(", open + 1)) {
    const close = matchBracket(code, open)
    if (close === -1) continue
    // What precedes `(`: a name, `function`, `function*`, or generic parameters after one of those.
    let j = open - 1
    while (j >= 0 && /\s/.test(code[j]!)) j--
    if (code[j] === ">" && code[j - 1] !== "=") {
      let depth = 0
      for (; j >= 0; j--) {
        if (code[j] === ">") depth++
        else if (code[j] === "<" && --depth === 0) break
      }
      j--
      while (j >= 0 && /\s/.test(code[j]!)) j--
    }
    let k = j
    while (k >= 0 && /[\w$]/.test(code[k]!)) k--
    const word = code.slice(k + 1, j + 1)
    let after = close + 1
    while (/\s/.test(code[after] ?? "")) after++
    const isArrow = code.startsWith("=>", after)
    if (!isArrow) {
      if (word === "" && code[j] !== "*") continue
      if (controlWords.has(word)) continue
      const body = bodyAfterParams(code, close + 1)
      if (body === -1) continue
      const end = matchBracket(code, body)
      if (end === -1) continue
      const isFunction = word === "function" || /\bfunction\s*\*?\s*[\w$]*\s*$/.test(code.slice(0, j + 1))
      add(isFunction ? code.lastIndexOf("function", j) : k + 1, end, isFunction ? "function" : "method")
      continue
    }
    let bodyStart = after + 2
    while (/\s/.test(code[bodyStart] ?? "")) bodyStart++
    if (code[bodyStart] === "{") {
      const end = matchBracket(code, bodyStart)
      if (end !== -1) add(after, end, "arrow")
    }
  }
  // `const name = <arrow>`: the whole declaration.
  const declaration = /^([ \t]*)(?:export\s+)?(?:const|let)\s+[\w$]+\s*(?::[^=\n]+)?=\s*/gm
  for (const match of code.matchAll(declaration)) {
    const start = match.index + match[1]!.length
    let i = match.index + match[0].length
    const skipSpace = () => {
      while (/\s/.test(code[i] ?? "")) i++
    }
    if (/^async\b/.test(code.slice(i, i + 6))) {
      i += 5
      skipSpace()
    }
    if (code[i] === "<") {
      i = code.indexOf("(", i)
      if (i === -1) continue
    }
    if (code[i] === "(") {
      const close = matchBracket(code, i)
      if (close === -1) continue
      i = close + 1
      skipSpace()
      // A return type may sit between `)` and `=>`.
      if (code[i] === ":") {
        const arrow = code.indexOf("=>", i)
        if (arrow === -1 || /[;{}]|\n\s*\n/.test(code.slice(i, arrow))) continue
        i = arrow
      }
    } else {
      const name = /^[\w$]+\s*/.exec(code.slice(i))
      if (name === null) continue
      i += name[0].length
    }
    if (!code.startsWith("=>", i)) continue
    const end = expressionEnd(code, i + 2, indentAt(source, start))
    add(start, end - 1, "const arrow")
  }
  return [...spans.values()].sort((a, b) => a.line - b.line)
}

/** A top-level exported declaration (`export const|let|function|class|interface|type|enum|namespace|declare`). */
export interface ExportedDeclaration {
  readonly file: string
  readonly line: number
  readonly name: string
  /** Whether a `/** ... *\/` block precedes it (only blank lines and `//` comments between). */
  readonly documented: boolean
}

/** Top-level exported declarations: those at bracket depth 0 of the masked code. */
export const exportedDeclarations = (source: SourceFile): Array<ExportedDeclaration> => {
  const { code, text } = source
  const result: Array<ExportedDeclaration> = []
  const pattern =
    /\bexport\s+(?:default\s+)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(const|let|var|function\s*\*?|class|interface|type|enum|namespace)\s+([\w$]+)/g
  let depth = 0
  let scanned = 0
  for (const match of code.matchAll(pattern)) {
    for (; scanned < match.index; scanned++) {
      const c = code[scanned]!
      if (c in openers) depth++
      else if (closers.has(c)) depth--
    }
    if (depth !== 0) continue
    // The text before the line, without trailing blank lines and `//` line comments.
    const lineStart = source.lineStarts[lineOf(source, match.index) - 1]!
    let before = text.slice(0, lineStart)
    for (;;) {
      const trimmed = before.replace(/\s+$/, "")
      const lastLine = trimmed.slice(trimmed.lastIndexOf("\n") + 1)
      if (lastLine.trimStart().startsWith("//")) before = trimmed.slice(0, trimmed.lastIndexOf("\n") + 1)
      else {
        before = trimmed
        break
      }
    }
    const documented = before.endsWith("*/") && before.lastIndexOf("/**") > before.lastIndexOf("*/", before.length - 3)
    result.push({ file: source.file, line: lineOf(source, match.index), name: match[2]!, documented })
  }
  return result
}

/**
 * The import graph's circles: one path per strongly connected component with more than one file
 * (or a file importing itself), e.g. `a.ts -> b.ts -> a.ts`.
 */
export const importCircles = (graph: ReadonlyMap<string, ReadonlyArray<string>>): Array<Array<string>> => {
  // Tarjan's algorithm.
  let index = 0
  const indices = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const components: Array<Array<string>> = []
  const connect = (node: string) => {
    indices.set(node, index)
    low.set(node, index)
    index++
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        connect(next)
        low.set(node, Math.min(low.get(node)!, low.get(next)!))
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, indices.get(next)!))
    }
    if (low.get(node) === indices.get(node)) {
      const component: Array<string> = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      components.push(component)
    }
  }
  for (const node of [...graph.keys()].sort()) if (!indices.has(node)) connect(node)
  const circles: Array<Array<string>> = []
  for (const component of components) {
    const members = new Set(component)
    const start = [...component].sort()[0]!
    if (component.length === 1 && !(graph.get(start) ?? []).includes(start)) continue
    // The shortest path from `start` back to itself inside the component.
    const previous = new Map<string, string>()
    const queue = [start]
    let found = false
    while (queue.length > 0 && !found) {
      const node = queue.shift()!
      for (const next of graph.get(node) ?? []) {
        if (!members.has(next)) continue
        if (next === start) {
          previous.set(start, node)
          found = true
          break
        }
        if (!previous.has(next)) {
          previous.set(next, node)
          queue.push(next)
        }
      }
    }
    const path = [start]
    for (let node = previous.get(start)!; node !== start; node = previous.get(node)!) path.unshift(node)
    path.unshift(start)
    circles.push(path)
  }
  return circles
}
