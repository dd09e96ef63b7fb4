/**
 * The dashboard's pages, rendered on the server from the same `Admin` calls as the JSON API: Dashboard,
 * Queues (and one queue's jobs), Busy (nodes), Retries, Scheduled, Dead (and a job's detail); the
 * Metrics pages are MetricsPage.ts's and Periodic is PeriodicPage.ts's, on this layout.
 * Every value goes through `html`, which escapes it; the only unescaped markup is our own.
 */
import type { DayStats, JobPage, JobView, NodeInfo, Overview, QueueInfo, SetName } from "../Admin.ts"
import * as Assets from "./Assets.ts"
import { type Html, html, isolate, trusted } from "./Html.ts"

/** What every page needs besides its own data: links, tokens, the clock and the nav's counts. */
export interface PageContext {
  /** The mount prefix ("" at the root): every link starts with it. */
  readonly base: string
  readonly csrf: string
  /** A nonce for the inline style and script (the Content-Security-Policy allows nothing else). */
  readonly nonce: string
  /** Milliseconds between live updates; 0 turns them off. */
  readonly pollMillis: number
  /** For relative times: epoch seconds. */
  readonly now: number
  readonly counts: {
    readonly retries: number
    readonly scheduled: number
    readonly dead: number
    readonly busy: number
  }
  /** The queues some live node serves; a queue outside it shows "not served". */
  readonly served?: ReadonlySet<string> | undefined
}

const nav: ReadonlyArray<readonly [string, string, keyof PageContext["counts"] | undefined]> = [
  ["", "Dashboard", undefined],
  ["/busy", "Busy", "busy"],
  ["/queues", "Queues", undefined],
  ["/periodic", "Periodic", undefined],
  ["/retries", "Retries", "retries"],
  ["/scheduled", "Scheduled", "scheduled"],
  ["/dead", "Dead", "dead"],
  ["/job-metrics", "Metrics", undefined],
  ["/limits", "Limits", undefined],
]

/** A whole page: head, nav (with counts), `body`; `live` says what the page's script polls ("off": nothing). */
export const layout = (
  context: PageContext,
  active: string,
  title: string,
  body: Html,
  live: "overview" | "page" | "off",
) =>
  html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · Verk</title>
<meta name="verk-base" content="${context.base}"><meta name="verk-csrf" content="${context.csrf}">
<meta name="verk-poll" content="${context.pollMillis}">
<link rel="icon" href="${context.base}/favicon.ico" type="image/svg+xml">
<style nonce="${context.nonce}">${trusted(Assets.css)}</style></head>
<body data-live="${live}"><header><div class="bar"><a class="brand" href="${context.base}/">Verk</a><nav>${nav.map(
    ([path, label, count]) =>
      html`<a href="${context.base}${path || "/"}" class="${active === label ? "on" : ""}">${label}${
        count === undefined
          ? ""
          : html`<span class="count" data-count="${count}">${number(context.counts[count])}</span>`
      }</a>`,
  )}</nav></div></header>
<main>${body}</main>
<footer>Verk for Effect · ${
    context.pollMillis > 0 && live !== "off"
      ? html`<label><input type="checkbox" data-live-toggle checked> live: updates every ${context.pollMillis / 1000} s</label>`
      : "live updates off"
  }</footer>
<script nonce="${context.nonce}">${trusted(Assets.script)}</script></body></html>`

const number = (value: number) => value.toLocaleString("en-US")

/** A length of time for people: "0.42 s", "42 s", "3 min 12 s", "2 h 3 min", "4 d 1 h". */
export const duration = (seconds: number): string => {
  if (!(seconds >= 0.01)) return "0 s"
  if (seconds < 10) return `${seconds.toFixed(2)} s`
  const whole = Math.round(seconds)
  if (whole < 60) return `${whole} s`
  const two = (big: number, bigUnit: string, small: number, smallUnit: string) =>
    small === 0 ? `${big} ${bigUnit}` : `${big} ${bigUnit} ${small} ${smallUnit}`
  if (whole < 3600) return two(Math.floor(whole / 60), "min", whole % 60, "s")
  const minutes = Math.round(whole / 60)
  if (minutes < 24 * 60) return two(Math.floor(minutes / 60), "h", minutes % 60, "min")
  const hours = Math.round(whole / 3600)
  return two(Math.floor(hours / 24), "d", hours % 24, "h")
}

/** A size for people: "512 KB", "48.3 MB", "1.2 GB". */
export const bytes = (count: number): string => {
  const units = ["B", "KB", "MB", "GB", "TB"]
  let value = count
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`
}

/** Text cut to `max` characters for a list (the job's own page shows it whole). */
export const cut = (text: string, max = 300): string => (text.length > max ? `${text.slice(0, max)}…` : text)

/** A queue's state: paused, running, or not served when no live node serves it. */
const queueState = (context: PageContext, queue: string, paused: boolean | undefined) =>
  paused
    ? html`<span class="badge paused">paused</span>`
    : context.served !== undefined && !context.served.has(queue)
      ? html`<span class="badge idle" title="no live node serves this queue">not served</span>`
      : html`<span class="badge live">running</span>`

/** "3 min ago", "in 2 h": short, relative to the page's time. */
export const relative = (now: number, at: number | undefined): string => {
  if (at === undefined) return ""
  const delta = at - now
  const seconds = Math.abs(delta)
  const amount =
    seconds < 60
      ? `${Math.round(seconds)} s`
      : seconds < 3600
        ? `${Math.round(seconds / 60)} min`
        : seconds < 86_400
          ? `${Math.round(seconds / 3600)} h`
          : `${Math.round(seconds / 86_400)} d`
  return delta > 0 ? `in ${amount}` : `${amount} ago`
}

/** A time (epoch seconds) as "3 min ago", with the exact time on hover. */
export const time = (now: number, at: number | undefined) =>
  at === undefined
    ? html`<span class="muted">—</span>`
    : html`<time datetime="${new Date(at * 1000).toISOString()}" title="${new Date(at * 1000).toISOString()}">${relative(now, at)}</time>`

/** Args as JSON text, cut for a table cell (the detail page shows them whole). */
const argsText = (args: ReadonlyArray<unknown>, max = 200) => {
  const text = JSON.stringify(args) ?? ""
  return text.length > max ? `${text.slice(0, max)}…` : text
}

/** The 30-day chart: processed and failed bars per day, as inline SVG computed from numbers only. */
export const chart = (history: ReadonlyArray<DayStats>): Html => {
  const width = 900
  const height = 200
  const top = 10
  const bottom = 24
  const max = Math.max(1, ...history.map((day) => day.processed + day.failed))
  const slot = width / Math.max(1, history.length)
  const bar = Math.max(2, slot * 0.7)
  const scale = (value: number) => (value / max) * (height - top - bottom)
  const bars = history.map((day, index) => {
    const x = index * slot + (slot - bar) / 2
    const processed = scale(day.processed)
    const failed = scale(day.failed)
    const base = height - bottom
    const label = index % 5 === 4 || index === history.length - 1 ? day.day.slice(5) : ""
    return html`<g><title>${day.day}: ${day.processed} processed, ${day.failed} failed</title><rect x="${x.toFixed(1)}" y="${(base - processed).toFixed(1)}" width="${bar.toFixed(1)}" height="${processed.toFixed(1)}" rx="2" fill="#2563eb"/><rect x="${x.toFixed(1)}" y="${(base - processed - failed).toFixed(1)}" width="${bar.toFixed(1)}" height="${failed.toFixed(1)}" rx="2" fill="#c62828"/>${
      label === ""
        ? ""
        : html`<text x="${(x + bar / 2).toFixed(1)}" y="${height - 6}" text-anchor="middle" font-size="11" fill="#6b7280">${label}</text>`
    }</g>`
  })
  return html`<svg viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img" aria-label="Jobs per day, last ${history.length} days"><line x1="0" x2="${width}" y1="${height - bottom}" y2="${height - bottom}" stroke="#e5e7eb"/><text x="4" y="${top + 10}" font-size="11" fill="#6b7280">${number(max)}</text>${bars}</svg>`
}

/**
 * The live chart: processed and failed per second over the last `liveSamples` polls, an empty
 * frame here that the page's script fills on every poll of `api/overview` (Assets.script draws the
 * lines and writes the y-axis maximum). Colours match the 30-day chart.
 */
export const liveSamples = 60

/** The front page's live chart: jobs per second over the last `liveSamples` polls. */
export const liveChart = (context: PageContext): Html => {
  const span = (context.pollMillis * liveSamples) / 1000
  const spanText = span >= 120 ? `${Math.round(span / 60)} min` : `${Math.round(span)} s`
  return html`<div class="panel chart live"><h2 class="flush">Jobs per second <span class="muted">· last ${spanText}</span></h2>
<div class="plot"><span class="axis top" data-live-max>1/s</span><span class="axis mid" data-live-mid>0.5</span><span class="axis zero">0</span>
<svg viewBox="0 0 600 120" preserveAspectRatio="none" role="img" aria-label="Processed and failed jobs per second, last ${liveSamples} polls" data-live-chart data-samples="${liveSamples}" data-points="0" data-processed="0" data-failed="0" data-peak="0">
<line x1="0" x2="600" y1="0.5" y2="0.5" stroke="#eef0f3" vector-effect="non-scaling-stroke"/><line x1="0" x2="600" y1="60" y2="60" stroke="#eef0f3" stroke-dasharray="4 4" vector-effect="non-scaling-stroke"/><line x1="0" x2="600" y1="119.5" y2="119.5" stroke="#e5e7eb" vector-effect="non-scaling-stroke"/>
<polygon data-area="processed" points="" fill="#2563eb" fill-opacity="0.12"/><polygon data-area="failed" points="" fill="#c62828" fill-opacity="0.14"/>
<polyline data-series="failed" points="" fill="none" stroke="#c62828" stroke-width="2" stroke-linejoin="round" vector-effect="non-scaling-stroke"/><polyline data-series="processed" points="" fill="none" stroke="#2563eb" stroke-width="2" stroke-linejoin="round" vector-effect="non-scaling-stroke"/>
</svg></div>
<div class="legend"><span><i class="p"></i>processed <b data-live-now="processed">…</b></span><span><i class="f"></i>failed <b data-live-now="failed">…</b></span><span class="spacer"></span><span>now →</span></div></div>`
}

const card = (context: PageContext, key: string, label: string, value: number | string, path?: string) =>
  path === undefined
    ? html`<div class="card ${key}"><div class="label">${label}</div><div class="value" data-stat="${key}">${value}</div></div>`
    : html`<a class="card ${key}" href="${context.base}${path}"><div class="label">${label}</div><div class="value" data-stat="${key}">${value}</div></a>`

/** The front page: the counters, the live and 30-day charts, and the queues. */
export const dashboard = (context: PageContext, overview: Overview, queues: ReadonlyArray<QueueInfo>) =>
  layout(
    context,
    "Dashboard",
    "Dashboard",
    html`<h1>Dashboard</h1>
<div class="cards">
${card(context, "processed", "Processed", number(overview.processed))}
${card(context, "failed", "Failed", number(overview.failed))}
${card(context, "rate", "Jobs / s", "…")}
${card(context, "busy", "Busy", number(overview.busy), "/busy")}
${card(context, "enqueued", "Enqueued", number(overview.enqueued), "/queues")}
${card(context, "retries", "Retries", number(overview.retries), "/retries")}
${card(context, "scheduled", "Scheduled", number(overview.scheduled), "/scheduled")}
${card(context, "dead", "Dead", number(overview.dead), "/dead")}
</div>
${context.pollMillis > 0 ? liveChart(context) : ""}
<div class="panel chart"><h2 class="flush">Last ${overview.history.length} days</h2>${chart(overview.history)}
<div class="legend"><span><i class="p"></i>processed</span><span><i class="f"></i>failed</span></div></div>
<h2>Queues</h2>${queueTable(context, queues)}`,
    "overview",
  )

const queueTable = (context: PageContext, queues: ReadonlyArray<QueueInfo>) =>
  queues.length === 0
    ? html`<div class="empty">No queues yet: enqueue a job and it shows here.</div>`
    : html`<table><thead><tr><th>Queue</th><th class="num">Size</th><th class="num">Latency</th><th>State</th><th></th></tr></thead><tbody>${queues.map(
        (
          queue,
        ) => html`<tr data-queue="${queue.name}"><td><a href="${context.base}/queues/${encodeURIComponent(queue.name)}">${isolate(queue.name)}</a></td>
<td class="num">${number(queue.size)}</td><td class="num">${duration(queue.latency)}</td>
<td>${queueState(context, queue.name, queue.paused)}</td>
<td class="actions right">${
          queue.paused
            ? html`<button data-post="api/queues/${encodeURIComponent(queue.name)}/resume">Resume</button>`
            : html`<button data-post="api/queues/${encodeURIComponent(queue.name)}/pause">Pause</button>`
        } <button class="danger" data-post="api/queues/${encodeURIComponent(queue.name)}/clear" data-confirm="Delete every job of ${queue.name}?">Clear</button></td></tr>`,
      )}</tbody></table>`

/** Every queue, with its size, latency and pause state. */
export const queuesPage = (context: PageContext, queues: ReadonlyArray<QueueInfo>) =>
  layout(context, "Queues", "Queues", html`<h1>Queues</h1>${queueTable(context, queues)}`, "page")

/** The page numbers a pager links: the first, the last, and two either side of the current one. */
export const pageNumbers = (current: number, pages: number): ReadonlyArray<number | "…"> => {
  const shown = [...new Set([1, current - 2, current - 1, current, current + 1, current + 2, pages])]
    .filter((n) => n >= 1 && n <= pages)
    .sort((a, b) => a - b)
  const out: Array<number | "…"> = []
  for (const n of shown) {
    const previous = out.at(-1)
    if (typeof previous === "number" && n - previous > 1) out.push("…")
    out.push(n)
  }
  return out
}

const pager = (context: PageContext, path: string, page: JobPage, query: Record<string, string | undefined> = {}) => {
  const pages = Math.max(1, Math.ceil(page.total / page.size))
  const link = (n: number) => {
    const params = new URLSearchParams()
    for (const [key, value] of Object.entries(query)) if (value) params.set(key, value)
    params.set("page", String(n))
    return `${context.base}${path}?${params}`
  }
  return html`<nav class="pager" aria-label="pages"><span>${number(page.total)} job${page.total === 1 ? "" : "s"} · page ${number(page.page)} of ${number(pages)}</span>
${page.page > 1 ? html`<a class="button" href="${link(page.page - 1)}" rel="prev">← Newer</a>` : ""}
${
  pages > 1
    ? pageNumbers(page.page, pages).map((n) =>
        n === "…"
          ? html`<span>…</span>`
          : n === page.page
            ? html`<span class="button on" aria-current="page">${number(n)}</span>`
            : html`<a class="button" href="${link(n)}" data-page="${n}">${number(n)}</a>`,
      )
    : ""
}
${page.page < pages ? html`<a class="button" href="${link(page.page + 1)}" rel="next">Older →</a>` : ""}</nav>`
}

/** One page of a queue's jobs. */
export const queuePage = (context: PageContext, queue: string, page: JobPage, info: QueueInfo | undefined) =>
  layout(
    context,
    "Queues",
    `Queue ${queue}`,
    html`<h1><a class="plain" href="${context.base}/queues">Queues</a> › <span class="mono">${isolate(queue)}</span> ${queueState(
      context,
      queue,
      info?.paused,
    )}</h1>
<div class="toolbar"><span class="spacer muted">${info === undefined ? "" : `latency ${duration(info.latency)}`}</span>${
      info?.paused
        ? html`<button data-post="api/queues/${encodeURIComponent(queue)}/resume">Resume</button>`
        : html`<button data-post="api/queues/${encodeURIComponent(queue)}/pause">Pause</button>`
    }
<button class="danger" data-selected data-post="api/queues/${encodeURIComponent(queue)}/delete">Delete selected</button>
<button class="danger" data-post="api/queues/${encodeURIComponent(queue)}/clear" data-confirm="Delete every job of ${queue}?" data-then="${context.base}/queues">Clear</button></div>
${
  page.jobs.length === 0
    ? html`<div class="empty">This queue is empty.</div>`
    : html`<table><thead><tr><th class="check"><input type="checkbox" data-all aria-label="select all"></th><th>Class</th><th>Args</th><th>Jid</th><th>Enqueued</th><th></th></tr></thead><tbody>${page.jobs.map(
        (
          job,
        ) => html`<tr data-jid="${job.jid}"><td class="check"><input type="checkbox" name="jid" value="${entryKey(job)}"></td><td>${job.class ? isolate(job.class) : html`<span class="err">malformed</span>`}</td>
<td><div class="args mono" title="${argsText(job.args, 2000)}">${isolate(job.malformed === undefined ? argsText(job.args) : cut(job.malformed))}</div></td><td class="mono">${isolate(job.jid)}</td>
<td>${time(context.now, job.enqueuedAt)}</td><td><button class="danger" data-post="api/queues/${encodeURIComponent(queue)}/delete" data-jid="${entryKey(job)}">Delete</button></td></tr>`,
      )}</tbody></table>`
}${pager(context, `/queues/${encodeURIComponent(queue)}`, page)}`,
    "page",
  )

/**
 * A node's queues, pool by pool: a queue of its own by name; a shared pool as `critical › default`
 * (strict order) or `critical ×3 + default ×1` (weights), with its slots.
 */
const poolsCell = (node: NodeInfo): Html => {
  if (node.pools.length === 0)
    return html`${node.queues.map((queue, i) => html`${i === 0 ? "" : ", "}${isolate(queue)}`)}`
  return html`${node.pools.map((pool, i) => {
    const separator = i === 0 ? "" : ", "
    if (pool.queues.length === 1 && pool.weights === undefined)
      return html`${separator}${isolate(pool.queues[0] ?? "")}`
    const queues =
      pool.weights === undefined
        ? pool.queues.map((queue, j) => html`${j === 0 ? "" : " › "}${isolate(queue)}`)
        : pool.queues.map((queue, j) => html`${j === 0 ? "" : " + "}${isolate(queue)} ×${pool.weights?.[j] ?? 1}`)
    const how = pool.weights === undefined ? "strict order" : "by weight"
    return html`${separator}<span data-pool title="pool ${pool.name}: ${pool.concurrency} slots, ${how}">${queues} <span class="muted">(${pool.concurrency} slots)</span></span>`
  })}`
}

/** The live nodes and what each is running. */
export const busyPage = (context: PageContext, nodes: ReadonlyArray<NodeInfo>) =>
  layout(
    context,
    "Busy",
    "Busy",
    html`<h1>Busy</h1>
<div class="cards">${card(context, "nodes", "Nodes", nodes.length)}${card(
      context,
      "busy",
      "Busy",
      nodes.reduce((sum, node) => sum + node.busy, 0),
    )}</div>
<h2>Nodes</h2>${
      nodes.length === 0
        ? html`<div class="empty">No node is running.</div>`
        : html`<table><thead><tr><th>Node</th><th>Host / pid</th><th>Queues</th><th class="num">Busy</th><th class="num">RSS</th><th>Started</th><th>Last beat</th></tr></thead><tbody>${nodes.map(
            (
              node,
            ) => html`<tr><td class="mono">${isolate(node.identity)}</td><td>${isolate(node.hostname ?? "?")} <span class="muted">${node.pid ?? ""}</span></td>
<td>${poolsCell(node)}</td><td class="num">${node.busy} / ${node.concurrency ?? "?"}</td><td class="num" data-rss>${node.rss === undefined ? "" : bytes(node.rss * 1024)}</td><td>${time(context.now, node.startedAt)}</td><td>${time(context.now, node.beat)}</td></tr>`,
          )}</tbody></table>`
    }
<h2>Running now</h2>${(() => {
      const work = nodes.flatMap((node) => node.work.map((item) => ({ node: node.identity, ...item })))
      return work.length === 0
        ? html`<div class="empty">Nothing is running.</div>`
        : html`<table><thead><tr><th>Node</th><th>Queue</th><th>Class</th><th>Args</th><th>Jid</th><th>Started</th><th class="num">Running for</th><th>Progress</th><th></th></tr></thead><tbody>${work.map(
            (item) =>
              html`<tr><td class="mono">${isolate(item.node)}</td><td>${isolate(item.queue)}</td><td>${isolate(item.class ?? "")}</td>
<td><div class="args mono" title="${item.args === undefined ? "" : argsText(item.args, 2000)}">${item.args === undefined ? "" : isolate(argsText(item.args))}</div></td>
<td class="mono">${isolate(item.jid ?? "")}</td><td>${time(context.now, item.runAt)}</td><td class="num" data-running-for>${duration(context.now - item.runAt)}</td>${progressCell(item.progress)}
<td>${item.jid === undefined ? "" : cancelButton(item.jid, `Cancel ${item.class ?? "the job"} ${item.jid}?`)}</td></tr>`,
          )}</tbody></table>`
    })()}`,
    "page",
  )

/** A running job's last progress report: a bar and its message. */
const progressCell = (progress: { readonly percent: number; readonly message?: string | undefined } | undefined) =>
  progress === undefined
    ? html`<td data-progress></td>`
    : html`<td data-progress="${Math.round(progress.percent)}"><progress max="100" value="${progress.percent}"></progress> ${Math.round(progress.percent)}%${progress.message === undefined ? "" : html` <span class="muted">${isolate(progress.message)}</span>`}</td>`

const setTitles: Record<SetName, string> = { retries: "Retries", scheduled: "Scheduled", dead: "Dead" }
/** What an empty list says: "No dead jobs.", never "No retries jobs.". */
const emptyNames: Record<SetName, string> = {
  retries: "jobs waiting for a retry",
  scheduled: "scheduled jobs",
  dead: "dead jobs",
}

/** What names a set's entry in links and actions: its entry reference (any entry), else its jid. */
const entryKey = (job: JobView) => job.ref ?? job.jid

/**
 * A filtered page's footer: the filter scans the set in bounded steps and stops at a full page
 * (or when its time is up), so it says whether more may match and links to where it goes on.
 */
const filteredPager = (
  context: PageContext,
  set: SetName,
  page: JobPage,
  filter: { readonly class?: string | undefined; readonly jid?: string | undefined },
) => {
  const params = new URLSearchParams()
  if (filter.class) params.set("class", filter.class)
  if (filter.jid) params.set("jid", filter.jid)
  const from = new URLSearchParams(params)
  if (page.next !== undefined) params.set("cursor", page.next)
  return html`<div class="pager" data-filtered><span>${number(page.jobs.length)} matching job${page.jobs.length === 1 ? "" : "s"} shown · ${
    page.next === undefined ? "no more match" : "more may match"
  } · ${number(page.total)} in the set</span>
<a class="button" href="${context.base}/${set}?${from.toString()}">↺ From the start</a>
${page.next === undefined ? "" : html`<a class="button" data-continue href="${context.base}/${set}?${params.toString()}">Continue →</a>`}</div>`
}

/**
 * A scheduled job that was on its queue before: a client schedules a job without `enqueued_at`
 * (Sidekiq's and ours), and a job over a rate or concurrency limit goes back to `schedule` with
 * its payload unchanged, `enqueued_at` and all (a snooze, Limits.ts). Retries wait in `retry`.
 */
const snoozed = (job: JobView) => job.enqueuedAt !== undefined && job.malformed === undefined

const snoozedBadge = html` <span class="badge idle" data-snoozed title="it was fetched and found a rate or concurrency limit full: it runs again at this time, not as a retry">snoozed</span>`

/** One page of a set's jobs (retries, scheduled or dead), filtered by class or jid. */
export const setPage = (
  context: PageContext,
  set: SetName,
  page: JobPage,
  filter: { readonly class?: string | undefined; readonly jid?: string | undefined },
) => {
  const title = setTitles[set]
  const whenLabel = set === "dead" ? "Died" : set === "retries" ? "Next retry" : "Runs"
  return layout(
    context,
    title,
    title,
    html`<h1>${title}</h1>
<div class="toolbar"><form method="get" action="${context.base}/${set}"><input type="text" name="class" placeholder="Class" value="${filter.class ?? ""}"><input type="text" name="jid" placeholder="Jid" value="${filter.jid ?? ""}"><button type="submit">Filter</button></form>
<button class="primary" data-selected data-post="api/sets/${set}/retry">${set === "scheduled" ? "Run selected now" : "Retry selected"}</button>
<button class="danger" data-selected data-post="api/sets/${set}/delete">Delete selected</button>
${set === "dead" ? "" : html`<button class="danger" data-selected data-post="api/sets/${set}/kill">Kill selected</button>`}
<button data-post="api/sets/${set}/retry-all" data-confirm="${set === "scheduled" ? "Run" : "Retry"} every job now?">${set === "scheduled" ? "Run all" : "Retry all"}</button>
<button class="danger" data-post="api/sets/${set}/delete-all" data-confirm="Delete every job?">Delete all</button></div>
${
  page.jobs.length === 0
    ? html`<div class="empty">${filter.class || filter.jid ? `No ${emptyNames[set]} match the filter.` : `No ${emptyNames[set]}.`}</div>`
    : html`<table><thead><tr><th class="check"><input type="checkbox" data-all aria-label="select all"></th><th>${whenLabel}</th><th>Queue</th><th>Class</th><th>Args</th>${set === "scheduled" ? "" : html`<th class="num">Retries</th><th>Error</th>`}<th></th></tr></thead><tbody>${page.jobs.map(
        (
          job,
        ) => html`<tr data-jid="${job.jid}"><td class="check"><input type="checkbox" name="jid" value="${entryKey(job)}"></td><td>${time(context.now, job.at)}${set === "scheduled" && snoozed(job) ? snoozedBadge : ""}</td><td>${isolate(job.queue)}</td>
<td><a href="${context.base}/${set}/${encodeURIComponent(entryKey(job))}">${isolate(job.class || "malformed")}</a></td><td><div class="args mono" title="${argsText(job.args, 2000)}">${isolate(job.malformed === undefined ? argsText(job.args) : cut(job.malformed))}</div></td>
${
  set === "scheduled"
    ? ""
    : html`<td class="num" data-retry-count>${job.retryCount === undefined ? "" : number(job.retryCount)}</td><td class="err"><div class="args" title="${cut(job.errorMessage ?? "", 2000)}">${isolate(job.errorClass ?? "")}${job.errorMessage ? html`: ${isolate(cut(job.errorMessage))}` : ""}</div></td>`
}
<td class="actions">${job.malformed === undefined ? html`<button data-post="api/sets/${set}/retry" data-jid="${entryKey(job)}">${set === "scheduled" ? "Run now" : "Retry"}</button> ` : ""}<button class="danger" data-post="api/sets/${set}/delete" data-jid="${entryKey(job)}">Delete</button></td></tr>`,
      )}</tbody></table>`
}${page.filtered ? filteredPager(context, set, page, filter) : pager(context, `/${set}`, page, { class: filter.class, jid: filter.jid })}`,
    "page",
  )
}

/** Cancels a job by jid (`POST /api/jobs/cancel`), after asking; then reloads, or goes to `then`. */
const cancelButton = (jid: string, question: string, then?: string) =>
  html`<button class="danger" data-post="api/jobs/cancel" data-jid="${jid}" data-confirm="${question}"${then === undefined ? "" : html` data-then="${then}"`}>Cancel</button>`

/** One job of a set, in full (its error, backtrace and payload). */
export const jobPage = (context: PageContext, set: SetName, job: JobView) => {
  const title = setTitles[set]
  const row = (label: string, value: Html | string | number | undefined) =>
    value === undefined || value === "" ? "" : html`<dt>${label}</dt><dd>${value}</dd>`
  const at = (value: number | undefined) =>
    value === undefined
      ? undefined
      : html`${new Date(value * 1000).toISOString()} <span class="muted">(${relative(context.now, value)})</span>`
  return layout(
    context,
    title,
    `${job.class} ${job.jid}`,
    html`<h1><a href="${context.base}/${set}" class="plain">${title}</a> › <span class="mono">${job.jid || job.ref || ""}</span></h1>
<div class="toolbar"><span class="spacer"></span>
${job.malformed === undefined ? html`<button class="primary" data-post="api/sets/${set}/retry" data-jid="${entryKey(job)}" data-then="${context.base}/${set}">${set === "scheduled" ? "Run now" : "Retry now"}</button>` : ""}
${set === "dead" ? "" : html`<button class="danger" data-post="api/sets/${set}/kill" data-jid="${entryKey(job)}" data-then="${context.base}/${set}">Kill</button>`}
<button class="danger" data-post="api/sets/${set}/delete" data-jid="${entryKey(job)}" data-then="${context.base}/${set}">Delete</button>
${set === "dead" || !job.jid ? "" : cancelButton(job.jid, `Cancel ${job.class} ${job.jid}?`, `${context.base}/${set}`)}</div>
<div class="panel"><dl class="detail">
${row("Class", job.class)}${row("Queue", job.queue)}${row("Jid", html`<span class="mono">${job.jid}</span>`)}${row("Entry", html`<span class="mono" data-ref>${job.ref ?? ""}</span>`)}
${row(set === "dead" ? "Died" : set === "retries" ? "Next retry" : "Runs", at(job.at))}
${row("Args", html`<pre>${JSON.stringify(job.args, null, 2)}</pre>`)}
${row("Retry count", job.retryCount)}${row("Error class", job.errorClass)}
${row("Error message", job.errorMessage === undefined ? undefined : html`<span class="err">${job.errorMessage}</span>`)}
${row("Created", at(job.createdAt))}${row("Enqueued", at(job.enqueuedAt))}${row("Failed", at(job.failedAt))}${row("Retried", at(job.retriedAt))}
${row("Malformed", job.malformed)}
${job.backtrace === undefined || job.backtrace.length === 0 ? "" : row("Backtrace", html`<pre>${job.backtrace.join("\n")}</pre>`)}
${row("Payload", html`<pre>${job.payload}</pre>`)}${job.bytes === undefined ? "" : row("Bytes (base64)", html`<pre class="mono" data-bytes>${job.bytes}</pre>`)}
</dl></div>`,
    "page",
  )
}

/** The page for an unknown queue, or a job that is gone. */
export const notFound = (context: PageContext, message: string) =>
  layout(context, "", "Not found", html`<h1>Not found</h1><div class="empty">${message}</div>`, "page")
