/**
 * Verk Web's Metrics pages (`/job-metrics`, `/job-metrics/<class>`): every class's runs, failures,
 * failure rate and durations over the last hour or 8 hours, and one class minute by minute (runs
 * and failures as bars, p95 as a line), from JobMetrics.ts. Values go through `html`, which
 * escapes them; class names are isolated (`<bdi>`), as elsewhere.
 */
import type { ClassDetail, ClassMetrics, MetricsSummary, Period } from "../JobMetrics.ts"
import { type Html, html, isolate } from "./Html.ts"
import { layout, type PageContext } from "./Pages.ts"

const number = (value: number) => value.toLocaleString("en-US")

/** Milliseconds for people: "12 ms", "1.4 s", "2 min 5 s"; a dash when unknown. */
export const millis = (value: number | null): string => {
  if (value === null) return "—"
  if (value < 1000) return `${Math.round(value)} ms`
  if (value < 60_000) return `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`
  const seconds = Math.round(value / 1000)
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`
}

const percent = (rate: number) => `${(rate * 100).toFixed(rate > 0 && rate < 0.1 ? 1 : 0)} %`

// Eight hours read 480 minutes (and a histogram per class and minute): not again every few seconds.
const live = (period: Period) => (period === "8h" ? "off" : "page")

const periodLabel: Record<Period, string> = { "1h": "last hour", "8h": "last 8 hours" }

// Narrow screens show rows as blocks without the header row: each number says what it is.
const labels = (context: PageContext) =>
  html`<style nonce="${context.nonce}">.legend i.p95{background:#f59e0b}@media(max-width:640px){td[data-label]::before{content:attr(data-label) ": ";color:var(--muted)}}</style>`

const periods = (context: PageContext, path: string, period: Period) =>
  html`<nav class="toolbar" aria-label="period"><span class="spacer muted">${periodLabel[period]}, UTC minutes</span>${(
    ["1h", "8h"] as const
  ).map((option) =>
    option === period
      ? html`<span class="button on" aria-current="page">${option}</span>`
      : html`<a class="button" href="${context.base}${path}?period=${option}">${option}</a>`,
  )}</nav>`

const cells = (metrics: ClassMetrics) =>
  html`<td class="num" data-label="runs" data-runs>${number(metrics.runs)}</td><td class="num" data-label="failures" data-failures>${number(metrics.failures)}</td><td class="num" data-label="failure rate">${percent(metrics.failureRate)}</td><td class="num" data-label="mean">${millis(metrics.meanMillis)}</td><td class="num" data-label="p50" data-p50>${millis(metrics.p50Millis)}</td><td class="num" data-label="p95" data-p95>${millis(metrics.p95Millis)}</td>`

const head = html`<th class="num">Runs</th><th class="num">Failures</th><th class="num">Failure rate</th><th class="num">Mean</th><th class="num">p50</th><th class="num">p95</th>`

const classPath = (className: string) => `/job-metrics/${encodeURIComponent(className)}`

/** Every class that ran in the period. */
export const metricsPage = (context: PageContext, summary: MetricsSummary) =>
  layout(
    context,
    "Metrics",
    "Metrics",
    html`${labels(context)}<h1>Metrics</h1>${periods(context, "/job-metrics", summary.period)}${
      summary.classes.length === 0
        ? html`<div class="empty">No job ran in the ${periodLabel[summary.period]}.</div>`
        : html`<table><thead><tr><th>Class</th>${head}</tr></thead><tbody>${summary.classes.map(
            (metrics) =>
              html`<tr data-class="${metrics.class}"><td><a href="${context.base}${classPath(metrics.class)}?period=${summary.period}">${isolate(metrics.class)}</a></td>${cells(metrics)}</tr>`,
          )}</tbody></table>`
    }
<p class="muted">Durations are of successful runs, as Sidekiq counts them; p50 and p95 are estimated from a histogram, within its bucket's width.</p>`,
    live(summary.period),
  )

/** Runs (failures on top, red) per minute as bars, and p95 as a line on its own scale. */
export const minuteChart = (detail: ClassDetail): Html => {
  const width = 900
  const height = 200
  const top = 14
  const bottom = 22
  const minutes = detail.minutes
  const maxRuns = Math.max(1, ...minutes.map((minute) => minute.runs))
  const maxP95 = Math.max(1, ...minutes.map((minute) => minute.p95Millis ?? 0))
  const slot = width / Math.max(1, minutes.length)
  const bar = Math.max(1, slot * 0.7)
  const base = height - bottom
  const scale = (value: number, max: number) => (value / max) * (height - top - bottom)
  const bars = minutes.map((minute, index) => {
    if (minute.runs === 0) return ""
    const x = index * slot + (slot - bar) / 2
    const runs = scale(minute.runs, maxRuns)
    const failed = scale(minute.failures, maxRuns)
    return html`<g><title>${minute.minute.slice(11, 16)}: ${minute.runs} runs, ${minute.failures} failed, p95 ${millis(minute.p95Millis)}</title><rect x="${x.toFixed(1)}" y="${(base - runs).toFixed(1)}" width="${bar.toFixed(1)}" height="${runs.toFixed(1)}" fill="#2563eb"/><rect x="${x.toFixed(1)}" y="${(base - runs).toFixed(1)}" width="${bar.toFixed(1)}" height="${failed.toFixed(1)}" fill="#c62828"/></g>`
  })
  const points = minutes.flatMap((minute, index) =>
    minute.p95Millis === null
      ? []
      : [`${(index * slot + slot / 2).toFixed(1)},${(base - scale(minute.p95Millis, maxP95)).toFixed(1)}`],
  )
  const first = minutes[0]?.minute.slice(11, 16) ?? ""
  const last = minutes.at(-1)?.minute.slice(11, 16) ?? ""
  return html`<svg viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img" aria-label="Runs and p95 per minute"><line x1="0" x2="${width}" y1="${base}" y2="${base}" stroke="#e5e7eb"/>${bars}<polyline points="${points.join(" ")}" fill="none" stroke="#f59e0b" stroke-width="2" vector-effect="non-scaling-stroke"/><text x="4" y="${top}" font-size="11">${number(maxRuns)} runs · p95 ${millis(maxP95)}</text><text x="4" y="${height - 6}" font-size="11">${first}</text><text x="${width - 4}" y="${height - 6}" font-size="11" text-anchor="end">${last}</text></svg>`
}

/** One class over the period: totals, the per-minute chart, and the minutes it ran, newest first. */
export const classMetricsPage = (context: PageContext, detail: ClassDetail) => {
  const name = detail.totals.class
  const ran = detail.minutes.filter((minute) => minute.runs > 0).reverse()
  return layout(
    context,
    "Metrics",
    `Metrics ${name}`,
    html`${labels(context)}<h1><a class="plain" href="${context.base}/job-metrics?period=${detail.period}">Metrics</a> › <span class="mono">${isolate(name)}</span></h1>${periods(context, classPath(name), detail.period)}
<table><thead><tr>${head}</tr></thead><tbody><tr data-totals>${cells(detail.totals)}</tr></tbody></table>
<div class="panel chart"><h2 class="flush">Per minute</h2>${minuteChart(detail)}
<div class="legend"><span><i class="p"></i>runs</span><span><i class="f"></i>failed</span><span><i class="p95"></i>p95</span></div></div>
<h2>Minutes</h2>${
      ran.length === 0
        ? html`<div class="empty">${isolate(name)} did not run in the ${periodLabel[detail.period]}.</div>`
        : html`<table><thead><tr><th>Minute (UTC)</th><th class="num">Runs</th><th class="num">Failures</th><th class="num">p95</th></tr></thead><tbody>${ran.map(
            (minute) =>
              html`<tr data-minute="${minute.minute}"><td><time datetime="${minute.minute}">${minute.minute.slice(0, 16).replace("T", " ")}</time></td><td class="num" data-label="runs">${number(minute.runs)}</td><td class="num" data-label="failures">${number(minute.failures)}</td><td class="num" data-label="p95">${millis(minute.p95Millis)}</td></tr>`,
          )}</tbody></table>`
    }`,
    live(detail.period),
  )
}
