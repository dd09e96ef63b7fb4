/**
 * The top-level members of a JSON object, found in its text without parsing it, so that a job can
 * be changed without re-serialising it: every member left alone keeps its source text verbatim
 * (numbers beyond 2^53, exponents, escapes, key order, whitespace). The scanner is one loop with
 * a stack of open brackets: no recursion, so any depth of nesting costs no stack.
 *
 * It checks structure (strings, brackets, separators) but not every JSON rule inside values:
 * callers patch only text that `JSON.parse` accepted, and peek into text that may be broken.
 */

/** One top-level member: `text.slice(valueStart, valueEnd)` is its value's source text. */
export interface Member {
  readonly key: string
  readonly keyStart: number
  readonly valueStart: number
  readonly valueEnd: number
}

export interface Scan {
  /** The members found, in order; up to the error when there is one. */
  readonly members: ReadonlyArray<Member>
  /** Index of the closing `}`; undefined when the text is not a whole object. */
  readonly closeAt: number | undefined
  /** Why the text is not a JSON object, if it is not. */
  readonly error: string | undefined
}

const isSpace = (code: number) => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09

/** Index after the string literal whose opening quote is at `start`, or -1 if it never closes. */
const stringEnd = (text: string, start: number): number => {
  let at = start + 1
  while (true) {
    const quote = text.indexOf('"', at)
    if (quote < 0) return -1
    // A quote preceded by an odd number of backslashes is escaped.
    let slashes = 0
    for (let i = quote - 1; i > start && text.charCodeAt(i) === 0x5c; i--) slashes++
    if (slashes % 2 === 0) return quote + 1
    at = quote + 1
  }
}

/** Index after the value starting at `start`, or an error. Iterative, whatever the nesting. */
const valueEnd = (text: string, start: number): number | string => {
  const first = text.charCodeAt(start)
  if (first === 0x22) {
    const end = stringEnd(text, start)
    return end < 0 ? `unterminated string at ${start}` : end
  }
  if (first === 0x7b || first === 0x5b) {
    // Expected closers, innermost last: "}" or "]".
    const closers: Array<number> = [first === 0x7b ? 0x7d : 0x5d]
    let at = start + 1
    while (at < text.length) {
      const code = text.charCodeAt(at)
      if (code === 0x22) {
        const end = stringEnd(text, at)
        if (end < 0) return `unterminated string at ${at}`
        at = end
        continue
      }
      if (code === 0x7b) closers.push(0x7d)
      else if (code === 0x5b) closers.push(0x5d)
      else if (code === 0x7d || code === 0x5d) {
        if (closers.pop() !== code) return `unexpected "${text[at]}" at ${at}`
        if (closers.length === 0) return at + 1
      }
      at++
    }
    return `unterminated ${first === 0x7b ? "object" : "array"} at ${start}`
  }
  // A number, true, false or null: up to the next separator.
  let at = start
  while (at < text.length) {
    const code = text.charCodeAt(at)
    if (code === 0x2c || code === 0x7d || code === 0x5d || isSpace(code)) break
    if (code === 0x22 || code === 0x7b || code === 0x5b || code === 0x3a) return `unexpected "${text[at]}" at ${at}`
    at++
  }
  return at === start ? `missing value at ${start}` : at
}

const skipSpace = (text: string, start: number): number => {
  let at = start
  while (at < text.length && isSpace(text.charCodeAt(at))) at++
  return at
}

/** Finds the top-level members of the JSON object `text`. Never throws. */
export const scan = (text: string): Scan => {
  const members: Array<Member> = []
  const fail = (error: string): Scan => ({ members, closeAt: undefined, error })
  let at = skipSpace(text, 0)
  if (text.charCodeAt(at) !== 0x7b) return fail("not a JSON object")
  at = skipSpace(text, at + 1)
  if (text.charCodeAt(at) === 0x7d) {
    const closeAt = at
    return skipSpace(text, at + 1) === text.length
      ? { members, closeAt, error: undefined }
      : fail(`text after the object at ${at + 1}`)
  }
  while (true) {
    if (text.charCodeAt(at) !== 0x22) return fail(`expected a key at ${at}`)
    const keyStart = at
    const keyEnd = stringEnd(text, at)
    if (keyEnd < 0) return fail(`unterminated key at ${at}`)
    let key: unknown = text.slice(keyStart + 1, keyEnd - 1)
    // Only a key with escapes needs decoding; most have none.
    if ((key as string).includes("\\")) {
      try {
        key = JSON.parse(text.slice(keyStart, keyEnd))
      } catch {
        return fail(`invalid key at ${keyStart}`)
      }
    }
    at = skipSpace(text, keyEnd)
    if (text.charCodeAt(at) !== 0x3a) return fail(`expected ":" at ${at}`)
    const valueStart = skipSpace(text, at + 1)
    if (valueStart >= text.length) return fail(`missing value at ${valueStart}`)
    const end = valueEnd(text, valueStart)
    if (typeof end === "string") return fail(end)
    members.push({ key: key as string, keyStart, valueStart, valueEnd: end })
    at = skipSpace(text, end)
    const separator = text.charCodeAt(at)
    if (separator === 0x2c) {
      at = skipSpace(text, at + 1)
      continue
    }
    if (separator !== 0x7d) return fail(at >= text.length ? "unterminated object" : `expected "," or "}" at ${at}`)
    const closeAt = at
    return skipSpace(text, at + 1) === text.length
      ? { members, closeAt, error: undefined }
      : fail(`text after the object at ${at + 1}`)
  }
}

/**
 * `text` with the given top-level members set to new values (JSON text each): a member present
 * gets its value replaced (every occurrence, should a key repeat), one absent is added at the
 * end. Everything else stays as it was, byte for byte. Fails when `text` is not an object.
 */
export const set = (
  text: string,
  values: ReadonlyArray<readonly [key: string, json: string]>,
): { readonly _tag: "Ok"; readonly text: string } | { readonly _tag: "Error"; readonly error: string } => {
  const found = scan(text)
  if (found.error !== undefined || found.closeAt === undefined) {
    return { _tag: "Error", error: found.error ?? "not a JSON object" }
  }
  const byKey = new Map(values)
  const present = new Set<string>()
  let out = ""
  let copied = 0
  for (const member of found.members) {
    const value = byKey.get(member.key)
    if (value === undefined) continue
    present.add(member.key)
    out += text.slice(copied, member.valueStart) + value
    copied = member.valueEnd
  }
  const added = present.size === byKey.size ? [] : [...byKey].filter(([key]) => !present.has(key))
  if (added.length > 0) {
    // Right after the last member (or the opening brace), so that trailing whitespace stays put.
    const last = found.members[found.members.length - 1]
    const insertAt = last === undefined ? text.indexOf("{") + 1 : last.valueEnd
    const fresh = added.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(",")
    out += text.slice(copied, insertAt) + (last === undefined ? fresh : `,${fresh}`)
    copied = insertAt
  }
  return { _tag: "Ok", text: out + text.slice(copied) }
}

/**
 * The first top-level string member named `key`, read from text that may not be valid JSON (for
 * naming a malformed payload in logs); undefined when none is found before the text breaks.
 */
export const peekString = (text: string, key: string): string | undefined => {
  for (const member of scan(text).members) {
    if (member.key !== key || text.charCodeAt(member.valueStart) !== 0x22) continue
    try {
      const value: unknown = JSON.parse(text.slice(member.valueStart, member.valueEnd))
      if (typeof value === "string") return value
    } catch {
      // an invalid string literal: keep looking
    }
  }
  return undefined
}
