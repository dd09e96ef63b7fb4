/**
 * The workload matrix of run.ts: Verk and BullMQ drain real jobs, not only empty ones. Each row is
 * a job kind ("no-op": returns at once; "async": waits 10 ms first, as a call to another service
 * would: Effect.sleep in Verk, a setTimeout promise in BullMQ), the size of its one arg (a string)
 * and the worker's concurrency. Each drain is section 1's: the jobs enqueued on a flushed server and
 * held back, one worker process started (bench/verkWorkerMain.ts, bench/bullmqWorkerMain.ts) and
 * the jobs released once it is ready. Plus one "embedded" row: Verk running in the very process
 * that enqueued the jobs (bench/verkEmbeddedMain.ts, `Verk.layer` run from source).
 *
 * Figures per row and system: the steady-state drain rate (first perform → last perform), the
 * worker process's own CPU over those performs (`process.cpuUsage()` in the process), redis-server's
 * CPU (INFO cpu, release → last perform) and the worker process's peak RSS (VmHWM, start-up
 * included).
 */
import type { Redis } from "ioredis"
import * as Peer from "./bullmq.ts"
import { costRows, perJob, sideBySide } from "./drainRows.ts"
import type { ProcessDrainResult } from "./processes.ts"
import { format, type Row, renderGrid, type Section } from "./report.ts"
import { fmtInt } from "./support.ts"
import * as Verk from "./verk.ts"
import { AsyncWaitMillis } from "./verkWorkers.ts"

export interface MatrixRow extends Verk.Workload {
  readonly concurrency: number
  readonly jobs: number
}

export interface MatrixPlan {
  readonly rows: ReadonlyArray<MatrixRow>
  readonly embedded: MatrixRow
}

export const ArgSizes = [10, 1_000, 5_000, 20_000] as const
export const Concurrencies = [25, 200] as const

/**
 * The full run: every kind × size × concurrency, 50,000 jobs per row but 20,000 per async row at
 * concurrency 25 (2,500 a second at most: eight seconds a drain). An async row at concurrency 200
 * drains as many jobs as the no-op rows it is compared with: 20,000 (about a second) would count
 * the worker's warm-up (its JIT compiling) as a share of each job's CPU.
 * `only`: the rows of these labels (comma-separated), e.g. "no-op 20 KB c=200".
 * `--quick`: 1,000 / 500 jobs, and five rows that cover both kinds, both concurrencies and the
 * smallest and largest args (no-op 10 B and 20 KB at c=25, no-op 10 B, async 1 KB and 20 KB at c=200).
 */
export const plan = (quick: boolean, only?: string): MatrixPlan => {
  const jobs = (kind: Verk.Workload["kind"], concurrency: number) =>
    kind === "no-op" ? (quick ? 1_000 : 50_000) : quick ? 500 : concurrency === 25 ? 20_000 : 50_000
  const all = (["no-op", "async"] as const).flatMap((kind) =>
    Concurrencies.flatMap((concurrency) =>
      ArgSizes.map((argBytes): MatrixRow => ({ kind, argBytes, concurrency, jobs: jobs(kind, concurrency) })),
    ),
  )
  const inQuick = (row: MatrixRow) =>
    row.kind === "no-op"
      ? row.argBytes === 10 || (row.concurrency === 25 && row.argBytes === 20_000)
      : row.concurrency === 200 && (row.argBytes === 1_000 || row.argBytes === 20_000)
  // `only`: labels, comma-separated (BENCH_ROWS).
  const named = only?.split(",").map((name) => name.trim()) ?? []
  const rows = quick ? all.filter(inQuick) : all
  return {
    rows: named.length === 0 ? rows : rows.filter((row) => named.includes(label(row))),
    embedded: { kind: "no-op", argBytes: 10, concurrency: 25, jobs: jobs("no-op", 25) },
  }
}

const size = (bytes: number) => (bytes < 1_000 ? `${bytes} B` : `${bytes / 1_000} KB`)

export const label = (row: MatrixRow) => `${row.kind} ${size(row.argBytes)} c=${row.concurrency}`

export interface MatrixResult {
  readonly rows: ReadonlyArray<{
    readonly row: MatrixRow
    readonly verk: Verk.DrainResult
    readonly bullmq: Verk.DrainResult
  }>
  readonly embedded: { readonly row: MatrixRow; readonly verk: ProcessDrainResult }
}

export interface MatrixOptions {
  readonly url: string
  readonly port: number
  readonly admin: Redis
  readonly settleMillis: number
  readonly bundles: Verk.DrainOptions["bundles"]
  /** Flushes the server (and says what comes next) before each drain. */
  readonly fresh: (label: string) => Promise<void>
}

export const run = async (matrix: MatrixPlan, options: MatrixOptions): Promise<MatrixResult> => {
  const rows: Array<MatrixResult["rows"][number]> = []
  for (const row of matrix.rows) {
    const drain: Verk.DrainOptions = {
      url: options.url,
      admin: options.admin,
      jobs: row.jobs,
      concurrency: row.concurrency,
      processes: 1,
      settleMillis: options.settleMillis,
      bundles: options.bundles,
      workload: row,
    }
    await options.fresh(`Workload matrix, Verk: ${fmtInt(row.jobs)} × ${label(row)}`)
    const verk = await Verk.enqueueAndDrain(drain)
    await options.fresh(`Workload matrix, BullMQ: ${fmtInt(row.jobs)} × ${label(row)}`)
    const bullmq = await Peer.enqueueAndDrain(options.port, drain)
    rows.push({ row, verk, bullmq })
  }
  const row = matrix.embedded
  await options.fresh(`Workload matrix, Verk embedded in the enqueuing process: ${fmtInt(row.jobs)} × ${label(row)}`)
  const embedded = await Verk.embeddedDrain({
    url: options.url,
    admin: options.admin,
    jobs: row.jobs,
    concurrency: row.concurrency,
    argBytes: row.argBytes,
    settleMillis: options.settleMillis,
  })
  return { rows, embedded: { row, verk: embedded } }
}

/**
 * The most a worker can drain of a row's jobs: each of its `concurrency` slots runs an async job
 * at most once every AsyncWaitMillis, whatever the queue. No bound for no-op jobs.
 */
export const ceiling = (row: MatrixRow): number | undefined =>
  row.kind === "async" ? (row.concurrency * 1000) / AsyncWaitMillis : undefined

export const Title = `Workload matrix: real jobs, one worker process each (async jobs wait ${AsyncWaitMillis} ms); embedded: Verk in the process that enqueued the jobs`

/** The matrix's figures as a section of the report, for the JSON (run.ts renders it with `render`). */
export const section = (result: MatrixResult): Section => ({
  scenario: "workload-matrix",
  title: Title,
  systems: ["verk", "bullmq"],
  rows: [
    ...result.rows.flatMap(({ row, verk, bullmq }): Array<Row> => {
      const both = sideBySide(verk, bullmq)
      const bound = ceiling(row)
      return [
        { metric: `${label(row)}: drain rate`, unit: "jobs/s", values: both((drain) => drain.steadyPerSecond) },
        ...(bound === undefined
          ? []
          : [
              {
                metric: `${label(row)}: drain rate / ceiling (${fmtInt(bound)}/s)`,
                unit: "%",
                values: both((drain) => (100 * drain.steadyPerSecond) / bound),
              } satisfies Row,
            ]),
        {
          metric: `${label(row)}: drain rate Verk/BullMQ`,
          unit: "×",
          values: { verk: verk.steadyPerSecond / bullmq.steadyPerSecond },
        },
        ...costRows(label(row), verk, bullmq),
      ]
    }),
    ...(() => {
      const { row, verk } = result.embedded
      return [
        { metric: `embedded ${label(row)}: drain rate`, unit: "jobs/s", values: { verk: verk.steadyPerSecond } },
        {
          metric: `embedded ${label(row)}: Node CPU per job`,
          unit: "us/job",
          values: { verk: perJob(verk.steadyCpuSeconds, verk.jobs) },
        },
        {
          metric: `embedded ${label(row)}: redis-server CPU per job`,
          unit: "us/job",
          values: { verk: perJob(verk.redisCpuSeconds, verk.jobs) },
        },
      ] satisfies Array<Row>
    })(),
  ],
})

/** "2,500/s: 97% / 80%" for an async row (see `ceiling`), "-" for a no-op one. */
const ceilingCell = (row: MatrixRow, verk: Verk.DrainResult, bullmq: Verk.DrainResult): string => {
  const bound = ceiling(row)
  if (bound === undefined) return "-"
  const share = (drain: Verk.DrainResult) => format((100 * drain.steadyPerSecond) / bound, "%")
  return `${format(bound, "jobs/s")}: ${share(verk)} / ${share(bullmq)}`
}

/** The matrix as a table of its own: one line per row, the two systems side by side. */
export const render = (result: MatrixResult): string => {
  const cell = (value: number, unit: Parameters<typeof format>[1]) => format(value, unit)
  const header = [
    "Workload",
    "Jobs",
    "Verk rate",
    "BullMQ rate",
    "Verk/BullMQ",
    "Ceiling",
    "Verk CPU/job",
    "BullMQ CPU/job",
    "Verk Redis/job",
    "BullMQ Redis/job",
    "Verk peak RSS",
    "BullMQ peak RSS",
  ]
  const lines = result.rows.map(({ row, verk, bullmq }) => [
    label(row),
    fmtInt(row.jobs),
    cell(verk.steadyPerSecond, "jobs/s"),
    cell(bullmq.steadyPerSecond, "jobs/s"),
    cell(verk.steadyPerSecond / bullmq.steadyPerSecond, "×"),
    ceilingCell(row, verk, bullmq),
    cell(perJob(verk.steadyCpuSeconds, verk.jobs), "us/job"),
    cell(perJob(bullmq.steadyCpuSeconds, bullmq.jobs), "us/job"),
    cell(perJob(verk.redisCpuSeconds, verk.jobs), "us/job"),
    cell(perJob(bullmq.redisCpuSeconds, bullmq.jobs), "us/job"),
    cell(verk.peakRssMiB, "MiB"),
    cell(bullmq.peakRssMiB, "MiB"),
  ])
  const { row, verk } = result.embedded
  const embedded = [
    `embedded: ${label(row)}`,
    fmtInt(row.jobs),
    cell(verk.steadyPerSecond, "jobs/s"),
    "-",
    "-",
    "-",
    cell(perJob(verk.steadyCpuSeconds, verk.jobs), "us/job"),
    "-",
    cell(perJob(verk.redisCpuSeconds, verk.jobs), "us/job"),
    "-",
    "n/a",
    "-",
  ]
  return [
    renderGrid(header, [{ title: Title, lines: [...lines, embedded] }], false),
    "Rate: first perform → last perform. CPU/job: the worker process's own CPU (process.cpuUsage()), first → last perform.",
    `Ceiling (async rows): concurrency × 1000 / ${AsyncWaitMillis} ms, the most any worker can drain; then each system's rate as a share of it.`,
    "Redis/job: redis-server's CPU (INFO cpu), release → last perform. Peak RSS: the worker process's VmHWM after the drain.",
    "Embedded: one Node process (not bundled, `node --conditions=@verk/source`) enqueues the jobs, then runs Verk.layer with",
    "the Redis store; its CPU counts from its first perform (the enqueueing is not counted); its peak RSS would include the enqueueing.",
  ].join("\n")
}

/** Every drain of the matrix, to check each performed each job exactly once. */
export const drains = (result: MatrixResult): ReadonlyArray<ProcessDrainResult> => [
  ...result.rows.flatMap(({ verk, bullmq }) => [verk, bullmq]),
  result.embedded.verk,
]
