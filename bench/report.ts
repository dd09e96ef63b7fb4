/**
 * The bench's figures, kept as numbers with their units, and their two renderings: the plain-text
 * table (one column per system that ran) and the JSON file written by `--json <file>`.
 */
import { fmtInt, fmtMicros, fmtMs, fmtRate } from "./support.ts"

export const Systems = ["verk", "bullmq", "sidekiq"] as const
export type SystemId = (typeof Systems)[number]

/** A system compared in the bench: its column header, and why it did not run (when it did not). */
export interface System {
  readonly id: SystemId
  readonly name: string
  readonly version: string
  readonly skipped?: string | undefined
}

/** "×": a ratio of two systems' figures (given as the first one's). */
export type Unit = "jobs/s" | "s" | "ms" | "us/job" | "jobs" | "commands/s" | "connections" | "MiB" | "×" | "%"

/**
 * A row: one metric, measured for some of the systems. A number is a figure; a string is printed
 * as it is ("n/a": the system has no such thing) and left out of the JSON; a missing entry is a
 * figure the bench does not measure for that system ("-").
 */
export interface Row {
  readonly metric: string
  readonly unit: Unit
  readonly values: Partial<Record<SystemId, number | string>>
  readonly note?: string
  /** The row's scenario in the JSON, when not its section's. */
  readonly scenario?: string
}

export interface Section {
  /** The scenario's key in the JSON. */
  readonly scenario: string
  readonly title: string
  /** The systems this scenario runs; one that is skipped is listed under `skipped` in the JSON. */
  readonly systems: ReadonlyArray<SystemId>
  readonly rows: ReadonlyArray<Row>
}

export interface Figure {
  readonly scenario: string
  readonly system: SystemId
  readonly metric: string
  readonly value: number
  readonly unit: Unit
}

export interface Skip {
  readonly scenario: string
  readonly system: SystemId
  readonly reason: string
}

export interface Metadata {
  readonly date: string
  readonly quick: boolean
  readonly node: string
  readonly redis: string
  readonly cpus: number
  readonly cpuModel: string
  readonly memoryGiB: number
  readonly platform: string
  readonly loadAverage: { readonly start: number; readonly end: number }
  readonly versions: Readonly<Record<string, string>>
  /** The run's counts (jobs per drain, processes, windows), so runs with different counts are not compared. */
  readonly counts: Readonly<Record<string, number | ReadonlyArray<number>>>
  readonly benchSeconds: number
}

export interface JsonReport {
  readonly metadata: Metadata
  readonly systems: ReadonlyArray<System>
  readonly scenarios: ReadonlyArray<string>
  readonly figures: ReadonlyArray<Figure>
  readonly skipped: ReadonlyArray<Skip>
}

export const format = (value: number, unit: Unit): string => {
  switch (unit) {
    case "jobs/s":
      return fmtRate(value)
    case "s":
      return Number.isFinite(value) ? `${value.toFixed(2)} s` : "n/a"
    case "ms":
      return fmtMs(value)
    case "us/job":
      return fmtMicros(value / 1e6)
    case "jobs":
      return fmtInt(value)
    case "commands/s":
      return Number.isFinite(value) ? value.toFixed(1) : "n/a"
    case "connections":
      return fmtInt(value)
    case "MiB":
      return Number.isFinite(value) ? `${value.toFixed(1)} MiB` : "n/a"
    case "%":
      return Number.isFinite(value) ? `${value.toFixed(0)}%` : "n/a"
    case "×":
      return Number.isFinite(value) ? `${value.toFixed(2)}×` : "n/a"
  }
}

const cell = (row: Row, system: SystemId): string => {
  const value = row.values[system]
  return value === undefined ? "-" : typeof value === "string" ? value : format(value, row.unit)
}

/**
 * A plain-text table of `blocks` (each a title line over its lines) under `header`, padded to fit:
 * the first column, and the last when `lastLeft`, left-aligned, the others (figures) right-aligned.
 */
export const renderGrid = (
  header: ReadonlyArray<string>,
  blocks: ReadonlyArray<{ readonly title: string; readonly lines: ReadonlyArray<ReadonlyArray<string>> }>,
  lastLeft: boolean,
): string => {
  const all = [header, ...blocks.flatMap((block) => block.lines)]
  const widths = header.map((_, i) => Math.max(...all.map((line) => line[i]!.length)))
  const left = (i: number) => i === 0 || (lastLeft && i === header.length - 1)
  const render = (line: ReadonlyArray<string>) =>
    `| ${line.map((text, i) => (left(i) ? text.padEnd(widths[i]!) : text.padStart(widths[i]!))).join(" | ")} |`
  const rule = `+${widths.map((n) => "-".repeat(n + 2)).join("+")}+`
  const out = [rule, render(header), rule]
  for (const block of blocks) {
    out.push(`| ${block.title.padEnd(rule.length - 4)} |`)
    out.push(...block.lines.map(render))
    out.push(rule)
  }
  return out.join("\n")
}

/** A plain-text table: one block per section, one column per system that ran, padded to fit. */
export const renderTable = (systems: ReadonlyArray<System>, sections: ReadonlyArray<Section>): string => {
  const columns = systems.filter((system) => system.skipped === undefined)
  return renderGrid(
    ["Metric", ...columns.map((system) => `${system.name} ${system.version}`), "Notes"],
    sections.map((section) => ({
      title: section.title,
      lines: section.rows.map((row) => [row.metric, ...columns.map((system) => cell(row, system.id)), row.note ?? ""]),
    })),
    true,
  )
}

/** Every numeric figure of the sections, and the scenarios each skipped system would have run. */
export const toJson = (
  metadata: Metadata,
  systems: ReadonlyArray<System>,
  sections: ReadonlyArray<Section>,
): JsonReport => {
  const figures: Array<Figure> = []
  const skipped: Array<Skip> = []
  const scenarios: Array<string> = []
  const seen = new Set<string>()
  const addScenario = (scenario: string) => {
    if (!seen.has(scenario)) {
      seen.add(scenario)
      scenarios.push(scenario)
    }
  }
  for (const section of sections) {
    addScenario(section.scenario)
    for (const row of section.rows) {
      const scenario = row.scenario ?? section.scenario
      addScenario(scenario)
      for (const system of Systems) {
        const value = row.values[system]
        if (typeof value === "number") figures.push({ scenario, system, metric: row.metric, value, unit: row.unit })
      }
    }
  }
  const skippedKeys = new Set<string>()
  for (const section of sections) {
    const inSection = new Set([section.scenario, ...section.rows.map((row) => row.scenario ?? section.scenario)])
    for (const id of section.systems) {
      const reason = systems.find((system) => system.id === id)?.skipped
      if (reason === undefined) continue
      for (const scenario of inSection) {
        const key = `${scenario}\u0000${id}`
        if (!skippedKeys.has(key)) {
          skippedKeys.add(key)
          skipped.push({ scenario, system: id, reason })
        }
      }
    }
  }
  return { metadata, systems, scenarios, figures, skipped }
}
