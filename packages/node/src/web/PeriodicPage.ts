/**
 * The dashboard's Periodic page: every entry running nodes declared, with its cron expression and
 * time zone, its worker and queue, its last and next run and whether it is paused, and buttons to
 * pause, resume or run it now (POSTs to `/api/periodic`, with the page's CSRF token).
 */
import { html, isolate } from "./Html.ts"
import { layout, type PageContext, time } from "./Pages.ts"
import type { PeriodicView } from "./PeriodicApi.ts"

const seconds = (millis: number | undefined) => (millis === undefined ? undefined : millis / 1000)

const row = (context: PageContext, entry: PeriodicView) => {
  const path = `api/periodic/${encodeURIComponent(entry.name)}`
  return html`<tr data-periodic="${entry.name}"><td><bdi class="mono">${entry.name}</bdi></td>
<td><span class="mono">${entry.cron}</span> <span class="muted">${isolate(entry.timeZone)}</span></td>
<td>${isolate(entry.class)} <span class="muted">on ${isolate(entry.queue)}</span></td>
<td data-last-run>${time(context.now, seconds(entry.lastRun))}</td>
<td data-next-run>${entry.paused ? html`<span class="muted">—</span>` : time(context.now, seconds(entry.nextRun))}</td>
<td data-state>${entry.paused ? html`<span class="badge paused">paused</span>` : html`<span class="badge live">active</span>`}${
    entry.runRequested === undefined
      ? ""
      : html` <span class="badge idle" title="a node takes it within its poll interval">run asked</span>`
  }</td>
<td class="actions">${
    entry.paused
      ? html`<button data-post="${path}/resume">Resume</button>`
      : html`<button data-post="${path}/pause">Pause</button>`
  } <button data-post="${path}/run-now">Run now</button></td></tr>`
}

/** The Periodic page. */
export const periodicPage = (context: PageContext, entries: ReadonlyArray<PeriodicView>) =>
  layout(
    context,
    "Periodic",
    "Periodic",
    html`<h1>Periodic</h1>${
      entries.length === 0
        ? html`<div class="empty">No periodic entry is declared by a running node.</div>`
        : html`<table><thead><tr><th>Name</th><th>Schedule</th><th>Worker</th><th>Last run</th><th>Next run</th><th>State</th><th></th></tr></thead><tbody>${entries.map(
            (entry) => row(context, entry),
          )}</tbody></table>`
    }`,
    "page",
  )
