/**
 * The bench still works: `bench/run.ts --quick --json <file>` runs every scenario with small
 * counts and writes every figure. Nothing here is about speed: the figures must be there, finite,
 * and positive where a zero would mean the scenario measured nothing. Ruby Sidekiq's entries are
 * figures when Sidekiq is installed, and `skipped` with a reason when it is not.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { afterAll, expect, it } from "vitest"
import type { JsonReport, SystemId } from "../../bench/report.ts"
import { sidekiqMissing, sidekiqRequired } from "../support/sidekiq.ts"

const root = resolve(import.meta.dirname, "../..")
const nodeBinary = resolve(root, "node_modules/.bin/node")
const dir = mkdtempSync(join(tmpdir(), "verk-bench-quick-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Which systems each scenario runs. */
const expected: Readonly<Record<string, ReadonlyArray<SystemId>>> = {
  drain: ["verk", "bullmq", "sidekiq"],
  enqueue: ["verk", "bullmq", "sidekiq"],
  pickup: ["verk", "bullmq"],
  "foreign-pickup": ["verk"],
  scheduled: ["verk", "bullmq"],
  "idle-load": ["verk", "bullmq"],
  memory: ["verk", "bullmq", "sidekiq"],
  "scale-out": ["verk", "bullmq"],
  "cluster-scale-out": ["verk"],
  startup: ["verk", "bullmq"],
  unique: ["verk"],
  threads: ["verk"],
  "flow-control": ["verk", "bullmq"],
  "workload-matrix": ["verk", "bullmq"],
}

const runBench = (json: string) =>
  new Promise<{ readonly code: number | null; readonly output: string }>((done) => {
    execFile(
      nodeBinary,
      ["--conditions=@verk/source", "bench/run.ts", "--quick", "--json", json],
      { cwd: root, maxBuffer: 16 * 1024 * 1024, timeout: 240_000 },
      (error, stdout, stderr) =>
        done({ code: error === null ? 0 : (error.code as number | null), output: stdout + stderr }),
    )
  })

it("bench --quick runs every scenario and writes its figures as JSON", { timeout: 250_000 }, async () => {
  const json = join(dir, "bench.json")
  const { code, output } = await runBench(json)
  expect(code, output).toBe(0)
  const report = JSON.parse(readFileSync(json, "utf8")) as JsonReport
  const context = `${output}\n${JSON.stringify(report, null, 2)}`

  expect(report.metadata.quick).toBe(true)
  expect(report.metadata.node).toMatch(/^v\d+/)
  expect(report.metadata.redis).toMatch(/^\d+\.\d+/)
  expect(report.metadata.cpus).toBeGreaterThan(0)
  expect(Date.parse(report.metadata.date)).not.toBeNaN()
  expect([...report.scenarios].sort()).toEqual(Object.keys(expected).sort())

  const sidekiqSkipped = sidekiqMissing() !== undefined && !sidekiqRequired()
  for (const [scenario, systems] of Object.entries(expected)) {
    for (const system of systems) {
      const figures = report.figures.filter((figure) => figure.scenario === scenario && figure.system === system)
      const skipped = report.skipped.find((skip) => skip.scenario === scenario && skip.system === system)
      if (system === "sidekiq" && sidekiqSkipped) {
        expect(figures, `${scenario}/${system}`).toEqual([])
        expect(skipped?.reason ?? "", `${scenario}/${system}: a skip with a reason`).not.toBe("")
        continue
      }
      expect(skipped, `${scenario}/${system} skipped\n${context}`).toBeUndefined()
      expect(figures.length, `${scenario}/${system} has figures\n${context}`).toBeGreaterThan(0)
      for (const figure of figures) {
        const label = `${scenario}/${system} ${figure.metric} = ${figure.value} ${figure.unit}`
        expect(Number.isFinite(figure.value), label).toBe(true)
        if (figure.metric.startsWith("Lateness")) continue // a job run a hair early would be negative
        // An idle BullMQ worker may send nothing within the quick run's 1 s window.
        if (figure.unit === "ms" || figure.unit === "commands/s") expect(figure.value, label).toBeGreaterThanOrEqual(0)
        else expect(figure.value, label).toBeGreaterThan(0)
      }
    }
  }

  // Every drain performed each job exactly once.
  const performed = report.figures.filter((figure) => figure.metric === "Jobs performed")
  expect(performed.length).toBe(sidekiqSkipped ? 2 : 3)
  for (const figure of performed) expect(figure.value, figure.system).toBe(report.metadata.counts.drainJobs)

  // The workload matrix: each row's figures for both systems, and the embedded row's for Verk.
  const matrix = report.figures.filter((figure) => figure.scenario === "workload-matrix")
  const rows = matrix.filter(
    (figure) => figure.metric.endsWith(": drain rate") && !figure.metric.startsWith("embedded"),
  )
  expect(rows.length, context).toBe(2 * (report.metadata.counts.matrixRows as number))
  // Async rows also give each system's rate as a share of the most a worker could drain.
  const asyncRows = rows.filter((figure) => figure.metric.startsWith("async") && figure.system === "verk")
  expect(asyncRows.length, context).toBeGreaterThan(0)
  for (const { metric } of asyncRows) {
    const shares = matrix.filter((figure) =>
      figure.metric.startsWith(`${metric.replace(": drain rate", "")}: drain rate / ceiling`),
    )
    expect(shares.map((figure) => figure.system).sort(), `${metric}\n${context}`).toEqual(["bullmq", "verk"])
    for (const share of shares) expect(share.value, share.system).toBeGreaterThan(0)
  }
  for (const metric of ["drain rate", "Node CPU per job", "redis-server CPU per job"]) {
    expect(
      matrix.some((figure) => figure.metric === `embedded no-op 10 B c=25: ${metric}`),
      `embedded ${metric}\n${context}`,
    ).toBe(true)
  }
  expect(output).toContain("Workload matrix: real jobs")
})
