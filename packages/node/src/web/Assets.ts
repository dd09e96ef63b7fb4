/**
 * The pages' CSS and script, inlined in every page (no build step, no files to serve). The script
 * polls the JSON API for the dashboard's figures, refreshes other pages (their list and the nav's
 * counts) while nothing is selected, the tab is visible and the footer's live switch is on, and
 * sends the buttons' POSTs with the page's CSRF token. It writes job text with `textContent`
 * only, never as markup.
 */

export const css = `
:root{color-scheme:light dark;--bg:#f6f7f9;--card:#fff;--ink:#1f2430;--ink2:#374151;--muted:#6b7280;--line:#e5e7eb;--line2:#c7cbd1;
--brand:#b1003e;--brand2:#d6336c;--link:#b1003e;--head:#fafafb;--hover:#fcfcfd;--chip:#eceef2;--button:#fff;--button2:#f9fafb;
--ok:#0f9d58;--ok-bg:#e7f6ee;--warn:#c77700;--warn-bg:#fff4e5;--bad:#c62828;--bad-bg:#fdf2f2;--bad-line:#f3c6c6;--info:#2563eb;
--badge:#eef2ff;--badge-ink:#3730a3;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
@media(prefers-color-scheme:dark){:root{--bg:#0f1117;--card:#171a21;--ink:#e6e8ee;--ink2:#c9d1dc;--muted:#9aa3b2;--line:#2a2f3a;--line2:#3b4250;
--brand:#9c0f3f;--brand2:#c2255c;--link:#ff7aa2;--head:#1c2029;--hover:#1b1f27;--chip:#262b36;--button:#1d2129;--button2:#252a33;
--ok:#4ade80;--ok-bg:#12291c;--warn:#fbbf24;--warn-bg:#2d2410;--bad:#f87171;--bad-bg:#2c1518;--bad-line:#5b2329;--info:#60a5fa;
--badge:#1e2340;--badge-ink:#a5b4fc}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--ink);font-size:14px}
header{background:linear-gradient(90deg,var(--brand),var(--brand2));color:#fff;box-shadow:0 1px 3px rgba(0,0,0,.15)}
header .bar{max-width:1200px;margin:0 auto;display:flex;flex-wrap:wrap;align-items:center;gap:4px 22px;padding:8px 20px;min-height:54px}
header .brand{font-weight:700;font-size:18px;letter-spacing:.3px;color:#fff;text-decoration:none;margin-right:8px}
header nav{display:flex;gap:4px;flex-wrap:wrap}
header nav a{color:rgba(255,255,255,.88);text-decoration:none;padding:7px 11px;border-radius:6px;font-weight:500;white-space:nowrap}
header nav a:hover{background:rgba(255,255,255,.14);color:#fff;text-decoration:none}header nav a.on{background:rgba(255,255,255,.22);color:#fff}
header .count{display:inline-block;min-width:18px;padding:0 6px;margin-left:5px;border-radius:9px;background:rgba(0,0,0,.22);font-size:11px;line-height:18px;text-align:center;font-variant-numeric:tabular-nums}
main{max-width:1200px;margin:0 auto;padding:22px 20px 60px}
h1{font-size:22px;margin:4px 0 18px;font-weight:650;overflow-wrap:anywhere}h2{font-size:16px;margin:26px 0 10px;font-weight:600}
.cards{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:12px}@media(max-width:700px){.cards{grid-template-columns:repeat(2,minmax(0,1fr))}}
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
h1 .mono{font-size:19px;font-weight:600;background:var(--chip);padding:2px 8px;border-radius:6px}
th.check,td.check{width:40px}pre{margin:0}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;text-decoration:none;color:inherit;display:block;min-width:0}
a.card:hover{border-color:var(--brand2);text-decoration:none}
.card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.5px}
.card .value{font-size:26px;font-weight:650;margin-top:4px;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.card.failed .value,.card.dead .value{color:var(--bad)}.card.retries .value{color:var(--warn)}.card.rate .value{color:var(--info)}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px;margin-top:16px;min-width:0}
.chart svg{width:100%;height:220px;display:block}.legend{display:flex;flex-wrap:wrap;gap:6px 16px;color:var(--muted);font-size:12px;margin-top:6px}
.chart svg text{fill:var(--muted)}.chart svg line{stroke:var(--line)}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:10px;overflow:hidden}
th,td{text-align:left;padding:9px 12px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--head);color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.4px}
tr:last-child td{border-bottom:none}tbody tr:hover{background:var(--hover)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.args{max-width:min(340px,20vw);overflow:hidden;text-overflow:ellipsis;white-space:nowrap;color:var(--ink2)}
td.err .args{max-width:min(260px,17vw);color:var(--bad)}td a,td bdi{overflow-wrap:anywhere}td:has(a,bdi){min-width:9em}time,th{white-space:nowrap}
.wide{overflow-x:auto;border-radius:10px}
.err{color:var(--bad)}.muted{color:var(--muted)}
.badge{display:inline-block;padding:2px 8px;border-radius:999px;font-size:12px;font-weight:600;background:var(--badge);color:var(--badge-ink);white-space:nowrap}
.badge.paused{background:var(--warn-bg);color:var(--warn)}.badge.live{background:var(--ok-bg);color:var(--ok)}.badge.idle{background:var(--chip);color:var(--muted)}
button,.button{font:inherit;font-size:13px;border:1px solid var(--line);background:var(--button);color:var(--ink);padding:5px 11px;border-radius:6px;cursor:pointer;text-decoration:none;display:inline-block}
button:hover,.button:hover{border-color:var(--line2);background:var(--button2);text-decoration:none}
button.danger{color:var(--bad);border-color:var(--bad-line)}button.danger:hover{background:var(--bad-bg)}
button.primary{background:var(--brand);border-color:var(--brand);color:#fff}button.primary:hover{background:var(--brand2)}
.button.on{background:var(--chip);border-color:var(--line2);font-weight:600}
.toolbar{display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin:0 0 12px}
.toolbar form{display:flex;flex-wrap:wrap;gap:6px;margin-right:auto}
input[type=text]{font:inherit;padding:5px 9px;border:1px solid var(--line);border-radius:6px;min-width:180px;background:var(--card);color:var(--ink)}
.pager{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin-top:12px;color:var(--muted)}
.flash{position:fixed;right:18px;bottom:18px;background:#1f2430;color:#fff;padding:10px 14px;border-radius:8px;max-width:min(420px,calc(100vw - 36px));box-shadow:0 4px 14px rgba(0,0,0,.2);overflow-wrap:anywhere}
.flash.bad{background:var(--bad)}
.empty{padding:28px;text-align:center;color:var(--muted);background:var(--card);border:1px dashed var(--line);border-radius:10px}
dl.detail{display:grid;grid-template-columns:160px minmax(0,1fr);gap:8px 16px;margin:0}
dl.detail dt{color:var(--muted)}dl.detail dd{margin:0;overflow-wrap:anywhere;min-width:0}
pre{background:#0f172a;color:#e2e8f0;padding:12px;border-radius:8px;overflow:auto;font-size:12px;white-space:pre-wrap;overflow-wrap:anywhere}
.chart.live .plot{position:relative;padding-left:44px}.chart.live svg{height:140px;overflow:visible}
.chart.live .axis{position:absolute;left:0;width:38px;text-align:right;color:var(--muted);font-size:11px;line-height:12px;font-variant-numeric:tabular-nums}
.chart.live .axis.top{top:-6px}.chart.live .axis.mid{top:64px}.chart.live .axis.zero{bottom:-6px}
.chart.live .legend{margin-top:12px}.legend b{font-weight:600;color:var(--ink);font-variant-numeric:tabular-nums;margin-left:3px}
.flush{margin-top:0}.legend i.p{background:#2563eb}.legend i.f{background:#c62828}.actions{white-space:nowrap}.right{text-align:right}.spacer{margin-right:auto}a.plain{color:inherit;text-decoration:none}
footer{color:var(--muted);font-size:12px;text-align:center;padding:10px}
footer label{cursor:pointer}
@media(max-width:640px){
header .bar{gap:2px 10px;padding:6px 10px}header nav{gap:2px}header nav a{padding:6px 7px}
main{padding:16px 12px 48px}h1{font-size:20px}.card .value{font-size:22px}
table,tbody,tr,td{display:block;width:100%}thead{display:block}thead tr{display:flex;background:var(--head)}thead th{display:none}
thead th.check{display:block;width:auto;flex:1}.chart svg{height:150px}
thead th.check::after{content:"select all";margin-left:8px}
tbody tr{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 14px;padding:10px 12px;border-bottom:1px solid var(--line)}
tbody tr:last-child{border-bottom:none}
td,td.check{width:auto;max-width:100%;min-width:0;padding:0;border:none;overflow-wrap:anywhere}
td.num{text-align:left}td.actions{flex-basis:100%;text-align:left;white-space:normal}
.args,td.err .args{max-width:calc(100vw - 60px)}
dl.detail{grid-template-columns:minmax(0,1fr);gap:2px}dl.detail dd{margin-bottom:8px}
.toolbar form{width:100%}input[type=text]{min-width:0;flex:1 1 120px}
}
`

/** The icon (`<prefix>/favicon.ico`, linked from every page): a "V" on the brand's colour, as SVG. */
export const favicon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#b1003e"/><path d="M8 8l8 17 8-17" fill="none" stroke="#fff" stroke-width="4" stroke-linecap="round" stroke-linejoin="round"/></svg>`

export const script = `
(() => {
  const meta = (name) => document.querySelector('meta[name="' + name + '"]').content
  const base = meta("verk-base"), csrf = meta("verk-csrf"), every = Number(meta("verk-poll"))
  const flash = (text, bad) => {
    const box = document.createElement("div")
    box.className = bad ? "flash bad" : "flash"
    box.textContent = text
    document.body.appendChild(box)
    setTimeout(() => box.remove(), 5000)
  }
  const post = async (path, body) => {
    const response = await fetch(base + "/" + path, {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body ?? {}),
    })
    const reply = await response.json().catch(() => ({}))
    if (!response.ok) throw new Error(reply.message || reply.detail || ("HTTP " + response.status))
    return reply
  }
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-post]")
    if (button) {
      event.preventDefault()
      let body
      if (button.dataset.jid) body = { jids: [button.dataset.jid] }
      if (button.hasAttribute("data-selected")) {
        const jids = [...document.querySelectorAll("input[name=jid]:checked")].map((box) => box.value)
        if (jids.length === 0) return flash("Select jobs first", true)
        body = { jids }
      }
      if (button.dataset.confirm && !confirm(button.dataset.confirm)) return
      button.disabled = true
      try {
        const reply = await post(button.dataset.post, body)
        if (button.dataset.then) location.href = button.dataset.then
        else location.reload()
        if (reply.missing && reply.missing.length) flash("Gone meanwhile: " + reply.missing.join(", "))
      } catch (error) {
        flash(error.message, true)
        button.disabled = false
      }
    }
    const all = event.target.closest("input[data-all]")
    if (all) for (const box of document.querySelectorAll("input[name=jid]")) box.checked = all.checked
  })
  const set = (key, value) => {
    for (const node of document.querySelectorAll('[data-stat="' + key + '"]')) node.textContent = value
  }
  const format = (n) => n.toLocaleString("en-US")
  let last
  const samples = []
  /** A round y-axis maximum at or above the peak (1 at least): 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten. */
  const niceMax = (peak) => {
    if (!(peak > 1)) return 1
    const power = 10 ** Math.floor(Math.log10(peak))
    for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * power >= peak) return step * power
    return 10 * power
  }
  const short = (n) => n >= 1000 ? format(Math.round(n)) : String(Number(n.toPrecision(3)))
  const rate = (n) => n >= 100 ? format(Math.round(n)) : n.toFixed(1)
  const draw = () => {
    const svg = document.querySelector("[data-live-chart]")
    if (!svg) return
    const slots = Number(svg.dataset.samples) || 60, [width, height] = [600, 120]
    const peak = Math.max(0, ...samples.map((s) => Math.max(s.processed, s.failed)))
    const max = niceMax(peak)
    const x = (i) => (width - (samples.length - 1 - i) * (width / (slots - 1))).toFixed(1)
    const y = (v) => (height - (v / max) * (height - 2)).toFixed(1)
    for (const key of ["processed", "failed"]) {
      const points = samples.map((s, i) => x(i) + "," + y(s[key])).join(" ")
      svg.querySelector('[data-series="' + key + '"]').setAttribute("points", points)
      svg.querySelector('[data-area="' + key + '"]').setAttribute("points",
        samples.length < 2 ? "" : x(0) + "," + height + " " + points + " " + x(samples.length - 1) + "," + height)
      const latest = samples.length ? samples[samples.length - 1][key] : 0
      svg.dataset[key] = String(latest)
      for (const node of document.querySelectorAll('[data-live-now="' + key + '"]')) node.textContent = rate(latest) + "/s"
    }
    svg.dataset.points = String(samples.length)
    svg.dataset.peak = String(peak)
    for (const node of document.querySelectorAll("[data-live-max]")) node.textContent = short(max) + "/s"
    for (const node of document.querySelectorAll("[data-live-mid]")) node.textContent = short(max / 2)
  }
  const counts = (read) => {
    for (const node of document.querySelectorAll("[data-count]")) {
      const value = read(node.dataset.count)
      if (value !== undefined) node.textContent = value
    }
  }
  let polling = false
  const poll = async () => {
    if (polling) return
    polling = true
    try {
      if (document.querySelector("[data-live=overview]")) {
        const response = await fetch(base + "/api/overview", { credentials: "same-origin" })
        if (!response.ok) return
        const o = await response.json()
        for (const key of ["processed", "failed", "enqueued", "retries", "scheduled", "dead", "busy", "nodes"]) set(key, format(o[key]))
        counts((key) => typeof o[key] === "number" ? format(o[key]) : undefined)
        const now = performance.now()
        if (last && now > last.at) {
          const seconds = (now - last.at) / 1000
          const processed = Math.max(0, o.processed - last.processed) / seconds
          const failed = Math.max(0, o.failed - last.failed) / seconds
          set("rate", rate(processed))
          samples.push({ processed, failed })
          if (samples.length > (Number(document.querySelector("[data-live-chart]")?.dataset.samples) || 60)) samples.shift()
          draw()
        }
        last = { processed: o.processed, failed: o.failed, at: now }
      } else if (document.querySelector("[data-live=page]") && !document.querySelector("input[name=jid]:checked")) {
        // The page as shown (its filter, its page number): its list and the nav's counts, nothing else.
        const response = await fetch(location.href, { credentials: "same-origin" })
        if (!response.ok) return
        const page = new DOMParser().parseFromString(await response.text(), "text/html")
        const fresh = page.querySelector("main"), current = document.querySelector("main")
        if (fresh && current && !document.querySelector("input[name=jid]:checked")) current.replaceWith(document.adoptNode(fresh))
        counts((key) => page.querySelector('[data-count="' + key + '"]')?.textContent ?? undefined)
      }
      document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1)
    } catch {} finally { polling = false }
  }
  // Polls only while wanted (the footer's switch, remembered) and seen (not in a hidden tab).
  const toggle = document.querySelector("[data-live-toggle]")
  const remembered = () => { try { return localStorage.getItem("verk-live") } catch { return null } }
  if (toggle && remembered() === "off") toggle.checked = false
  const wanted = () => !toggle || toggle.checked
  const tick = () => {
    if (wanted() && document.visibilityState !== "hidden") return poll()
    document.body.dataset.skipped = String(Number(document.body.dataset.skipped || 0) + 1)
  }
  toggle?.addEventListener("change", () => {
    try { localStorage.setItem("verk-live", toggle.checked ? "on" : "off") } catch {}
    if (toggle.checked) poll()
  })
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible" && wanted()) poll() })
  if (every > 0) { if (wanted()) poll(); setInterval(tick, every) }
})()
`
