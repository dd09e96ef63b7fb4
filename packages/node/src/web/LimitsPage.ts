/**
 * The dashboard's Limits page: every budget of a rate or concurrency limit in use across the
 * nodes (AdminLimits.ts, as `verk limits` reads it). A rate budget shows its starts in the current
 * window against its limit and window; a concurrency budget its slots held against its limit, and
 * who holds each (node, queue, token, and the job while it runs). A budget's limit and window are
 * the application's code: shown when the dashboard was given its limits (`Web.layer({ limits })`).
 */
import type { LimitHolder, LimitView } from "../AdminLimits.ts"
import { type Html, html, isolate } from "./Html.ts"
import { layout, type PageContext } from "./Pages.ts"

const number = (value: number) => value.toLocaleString("en-US")

/** A window for people: "250 ms", "1 s", "1.5 s", "2 min", "1 h". */
export const windowText = (millis: number): string => {
  if (millis < 1000) return `${number(millis)} ms`
  const seconds = millis / 1000
  if (seconds < 60 || seconds % 60 !== 0) return `${number(seconds)} s`
  const minutes = seconds / 60
  return minutes < 60 || minutes % 60 !== 0 ? `${number(minutes)} min` : `${number(minutes / 60)} h`
}

// Narrow screens show rows as blocks without the header row: each number says what it is.
const style = (context: PageContext) =>
  html`<style nonce="${context.nonce}">ul.holders{margin:0;padding:0;list-style:none}ul.holders li{overflow-wrap:anywhere}meter{width:90px;vertical-align:middle}td.over{color:var(--warn)}@media(max-width:640px){td[data-label]::before{content:attr(data-label) ": ";color:var(--muted)}}</style>`

/** "3 / 5" with a meter, or "3" when the limit is not known here; red at the limit. */
const usedCell = (entry: LimitView, label: string) =>
  entry.limit === undefined
    ? html`<td class="num" data-label="${label}" data-used="${entry.used}">${number(entry.used)}</td>`
    : html`<td class="num${entry.used >= entry.limit ? " over" : ""}" data-label="${label}" data-used="${entry.used}"><meter min="0" max="${entry.limit}" value="${entry.used}" aria-hidden="true"></meter> ${number(entry.used)} / ${number(entry.limit)}</td>`

const budgetCell = (entry: LimitView) =>
  html`<td><bdi class="mono">${entry.budget}</bdi>${
    entry.name === undefined || entry.name === entry.budget
      ? ""
      : html` <span class="muted">of ${isolate(entry.name)}</span>`
  }</td>`

const holder = (context: PageContext, held: LimitHolder) =>
  html`<li data-holder="${held.node}">${
    held.jid === undefined
      ? html`<span class="muted">${held.token === undefined ? "a run" : html`run ${held.token}`}</span>`
      : html`<span class="mono">${isolate(held.jid)}</span>${held.class === undefined ? "" : html` ${isolate(held.class)}`}`
  }${held.queue === undefined ? "" : html` <span class="muted">on</span> ${isolate(held.queue)}`} <span class="muted">at</span> <a class="mono" href="${context.base}/busy">${isolate(held.node)}</a></li>`

const rateTable = (rates: ReadonlyArray<LimitView>) =>
  html`<table data-kind="rate"><thead><tr><th>Budget</th><th class="num">Starts in window</th><th>Window</th></tr></thead><tbody>${rates.map(
    (entry) =>
      html`<tr data-budget="${entry.budget}">${budgetCell(entry)}${usedCell(entry, "starts")}<td data-label="per" data-window>${
        entry.windowMillis === undefined ? html`<span class="muted">—</span>` : windowText(entry.windowMillis)
      }</td></tr>`,
  )}</tbody></table>`

const concurrencyTable = (context: PageContext, budgets: ReadonlyArray<LimitView>) =>
  html`<table data-kind="concurrency"><thead><tr><th>Budget</th><th class="num">Running</th><th>Held by</th></tr></thead><tbody>${budgets.map(
    (entry) =>
      html`<tr data-budget="${entry.budget}">${budgetCell(entry)}${usedCell(entry, "running")}<td>${
        entry.holders.length === 0
          ? html`<span class="muted">nobody now</span>`
          : html`<ul class="holders">${entry.holders.map((held) => holder(context, held))}</ul>`
      }</td></tr>`,
  )}</tbody></table>`

const section = (title: string, empty: string, rows: ReadonlyArray<LimitView>, table: Html) =>
  html`<h2>${title}</h2>${rows.length === 0 ? html`<div class="empty">${empty}</div>` : table}`

/** The Limits page; `known` says whether the dashboard was given the application's limits. */
export const limitsPage = (context: PageContext, usage: ReadonlyArray<LimitView>, known: boolean) => {
  const rates = usage.filter((entry) => entry.kind === "rate")
  const slots = usage.filter((entry) => entry.kind === "concurrency")
  return layout(
    context,
    "Limits",
    "Limits",
    html`${style(context)}<h1>Limits</h1>${section(
      "Rate limits",
      "No rate limit has starts in its window.",
      rates,
      rateTable(rates),
    )}${section("Concurrency limits", "No concurrency limit has a slot held.", slots, concurrencyTable(context, slots))}
<p class="muted">A budget is listed while it is in use, across every node. Jobs over a limit wait in Scheduled (marked snoozed), neither failed nor retried.${
      known
        ? ""
        : " Limits are code, not data: give Verk Web the limits of your workers and queues (Web.layer({ limits })) to see each budget against its limit and window."
    }</p>`,
    "page",
  )
}

/** The Limits page when the store cannot list limits (a Redis Cluster): why, in its words. */
export const limitsUnavailablePage = (context: PageContext, message: string) =>
  layout(context, "Limits", "Limits", html`<h1>Limits</h1><div class="empty" data-unavailable>${message}</div>`, "off")
