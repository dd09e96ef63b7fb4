/**
 * A strict check of Prometheus' text exposition format (0.0.4) and its naming conventions, the
 * rules `promtool check metrics` enforces and a few more: each family has one TYPE line before its
 * samples and at most one HELP line, its lines are contiguous; counters end in `_total`; units are
 * base units (`_seconds`, `_bytes`), never `_ms` and the like; a histogram has `_bucket` series with
 * `le` rising to `+Inf`, cumulative counts, and `_sum` and `_count`, the `+Inf` bucket equal to the
 * count; label values use only the `\\`, `\"` and `\n` escapes; no series appears twice.
 * Returns the problems found (none for a valid exposition).
 */

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const number = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/
/** Unit words that are not base units (Prometheus wants seconds and bytes). */
const nonBaseUnits = new Set([
  "ms",
  "millis",
  "milliseconds",
  "us",
  "micros",
  "microseconds",
  "ns",
  "nanoseconds",
  "minutes",
  "hours",
  "days",
  "kb",
  "mb",
  "gb",
  "kilobytes",
  "megabytes",
  "gigabytes",
  "bits",
])

interface Family {
  type: string | undefined
  help: number
  samples: number
}

/** `{a="x",b="y"}` parsed strictly: label names, quoted values and only the three escapes. */
const parseLabels = (text: string): { labels: Array<[string, string]>; rest: string } | string => {
  const labels: Array<[string, string]> = []
  let i = 1 // after "{"
  while (true) {
    if (text[i] === "}") return { labels, rest: text.slice(i + 1) }
    const eq = text.indexOf("=", i)
    if (eq === -1) return "a label without '='"
    const name = text.slice(i, eq)
    if (!labelName.test(name) || name.startsWith("__")) return `bad label name ${JSON.stringify(name)}`
    if (text[eq + 1] !== '"') return `label ${name}: value not quoted`
    let value = ""
    let j = eq + 2
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        const next = text[j + 1]
        if (next === "\\") value += "\\"
        else if (next === '"') value += '"'
        else if (next === "n") value += "\n"
        else return `label ${name}: bad escape \\${next ?? ""}`
        j++
      } else value += text[j]
    }
    if (j >= text.length) return `label ${name}: unterminated value`
    labels.push([name, value])
    i = j + 1
    if (text[i] === ",") i++
    else if (text[i] !== "}") return `label ${name}: expected ',' or '}'`
  }
}

/** The problems of `text` as a Prometheus exposition; empty when it is valid. */
export const checkExposition = (text: string): Array<string> => {
  const problems: Array<string> = []
  const families = new Map<string, Family>()
  const closed = new Set<string>()
  const series = new Set<string>()
  // histogram family -> label set (without le) -> its buckets, sum and count
  const histograms = new Map<string, Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>>()
  let current: string | undefined
  const enter = (family: string, line: string) => {
    if (current !== family) {
      if (current !== undefined) closed.add(current)
      if (closed.has(family)) problems.push(`family ${family} is not contiguous: ${line}`)
      current = family
    }
  }
  const familyOf = (name: string): string | undefined => {
    if (families.get(name)?.type !== undefined) return name
    for (const suffix of ["_bucket", "_sum", "_count"]) {
      const base = name.slice(0, -suffix.length)
      const type = families.get(base)?.type
      if (name.endsWith(suffix) && (type === "histogram" || (type === "summary" && suffix !== "_bucket"))) return base
    }
    return undefined
  }
  if (text !== "" && !text.endsWith("\n")) problems.push("no newline at the end")
  for (const line of text.split("\n")) {
    if (line === "") continue
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line)
    if (meta !== null) {
      const [, kind, name = "", rest = ""] = meta
      if (!metricName.test(name)) problems.push(`bad metric name ${name}`)
      const family = families.get(name) ?? { type: undefined, help: 0, samples: 0 }
      families.set(name, family)
      enter(name, line)
      if (kind === "HELP") {
        family.help++
        if (family.help > 1) problems.push(`${name}: more than one HELP line`)
        if (!/^(?:[^\\]|\\[\\n])*$/.test(rest)) problems.push(`${name}: bad escape in HELP`)
      } else {
        if (family.type !== undefined) problems.push(`${name}: more than one TYPE line`)
        if (family.samples > 0) problems.push(`${name}: TYPE after its samples`)
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest))
          problems.push(`${name}: unknown type ${rest}`)
        family.type = rest
        if (rest === "counter" && !name.endsWith("_total")) problems.push(`counter ${name} does not end in _total`)
        if (rest !== "counter" && name.endsWith("_total")) problems.push(`${rest} ${name} ends in _total`)
        for (const word of name.split("_"))
          if (nonBaseUnits.has(word.toLowerCase())) problems.push(`${name}: unit ${word} is not a base unit`)
      }
      continue
    }
    if (line.startsWith("#")) continue
    const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)
    if (head === null) {
      problems.push(`not a sample: ${line}`)
      continue
    }
    const name = head[1] ?? ""
    let rest = line.slice(name.length)
    let labels: Array<[string, string]> = []
    if (rest.startsWith("{")) {
      const parsed = parseLabels(rest)
      if (typeof parsed === "string") {
        problems.push(`${name}: ${parsed}: ${line}`)
        continue
      }
      labels = parsed.labels
      rest = parsed.rest
    }
    const values = /^ (\S+)(?: (-?\d+))?$/.exec(rest)
    if (values === null || !number.test(values[1] ?? "")) {
      problems.push(`${name}: bad value: ${line}`)
      continue
    }
    const value = Number((values[1] ?? "").replace("Inf", "Infinity"))
    const family = familyOf(name)
    if (family === undefined) {
      problems.push(`${name}: a sample without a TYPE line before it`)
      continue
    }
    enter(family, line)
    const info = families.get(family)
    if (info === undefined) continue
    info.samples++
    const names = labels.map(([key]) => key)
    if (new Set(names).size !== names.length) problems.push(`${name}: a label twice: ${line}`)
    const key = `${name}{${[...labels]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(",")}}`
    if (series.has(key)) problems.push(`duplicate series ${key}`)
    series.add(key)
    if (info.type === "counter" && value < 0) problems.push(`${name}: a negative counter`)
    if (info.type === "histogram") {
      const le = labels.find(([k]) => k === "le")
      const own = labels.filter(([k]) => k !== "le")
      const setKey = JSON.stringify([...own].sort(([a], [b]) => (a < b ? -1 : 1)))
      const byLabels = histograms.get(family) ?? new Map()
      histograms.set(family, byLabels)
      const entry = byLabels.get(setKey) ?? { buckets: [] }
      byLabels.set(setKey, entry)
      if (name === `${family}_bucket`) {
        if (le === undefined || !number.test(le[1])) problems.push(`${name}: a bucket without a numeric le: ${line}`)
        else entry.buckets.push([Number(le[1].replace("Inf", "Infinity")), value])
      } else if (le !== undefined) problems.push(`${name}: le on a non-bucket series`)
      else if (name === `${family}_sum`) entry.sum = value
      else entry.count = value
    }
  }
  for (const [family, byLabels] of histograms) {
    for (const [labels, { buckets, sum, count }] of byLabels) {
      const where = `${family}${labels}`
      if (buckets.length === 0) problems.push(`${where}: no buckets`)
      for (let i = 1; i < buckets.length; i++) {
        const [le, n] = buckets[i] ?? [0, 0]
        const [lePrevious, nPrevious] = buckets[i - 1] ?? [0, 0]
        if (!(le > lePrevious)) problems.push(`${where}: le not rising at ${le}`)
        if (n < nPrevious) problems.push(`${where}: bucket counts not cumulative at le ${le}`)
      }
      const last = buckets.at(-1)
      if (last !== undefined && last[0] !== Number.POSITIVE_INFINITY) problems.push(`${where}: no +Inf bucket last`)
      if (sum === undefined) problems.push(`${where}: no _sum`)
      if (count === undefined) problems.push(`${where}: no _count`)
      else if (last !== undefined && last[1] !== count) problems.push(`${where}: +Inf bucket is not _count`)
    }
  }
  return problems
}
