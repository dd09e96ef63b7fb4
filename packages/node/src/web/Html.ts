/**
 * HTML that cannot carry a job's text into markup: every value interpolated into `html` is escaped
 * unless it is itself `Html` (made by `html` or, for our own constant markup only, `trusted`). A
 * job's args, class, error and backtrace are untrusted text from whoever enqueued it.
 */

export class Html {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
  toString(): string {
    return this.text
  }
}

const entities: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
}

export const escapeHtml = (value: string): string => value.replace(/[&<>"'`]/g, (char) => entities[char] ?? char)

export type Value = Html | string | number | boolean | null | undefined | ReadonlyArray<Value>

const render = (value: Value): string => {
  if (value instanceof Html) return value.text
  if (value === null || value === undefined || value === false) return ""
  if (Array.isArray(value)) return value.map(render).join("")
  return escapeHtml(String(value))
}

/** A template whose interpolations are escaped (arrays are joined, nullish and false are empty). */
export const html = (strings: TemplateStringsArray, ...values: ReadonlyArray<Value>): Html => {
  let out = strings[0] ?? ""
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? "")
  return new Html(out)
}

/** Our own constant markup (CSS, script, SVG we computed from numbers): never a job's text. */
export const trusted = (text: string): Html => new Html(text)

/**
 * Someone else's text (a class, a queue, args, an error) in a `<bdi>`: right-to-left text or a
 * direction override in it cannot reorder the text around it.
 */
export const isolate = (value: Value): Html => html`<bdi>${value}</bdi>`
