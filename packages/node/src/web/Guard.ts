/**
 * Verk Web's gate, in front of every route it adds (pages and API alike):
 *
 * - without a token, the request's Host must be an IP address, `localhost` (or a name under it), or
 *   one of the allowed hosts (`allowedHosts`, VERK_WEB_ALLOWED_HOSTS): a page of another site whose
 *   name was re-pointed at this address (DNS rebinding) is refused 403;
 * - with a token (VERK_WEB_TOKEN), a request must carry it: `Authorization: Bearer <token>` (any
 *   case of the scheme), or the HttpOnly cookie that opening a page with `?token=<token>` sets (a
 *   value derived from the token, never the token; `Secure` when the request came over HTTPS,
 *   directly or as X-Forwarded-Proto or Forwarded say); anything else is refused 401;
 * - a change (any method but GET and HEAD) whose Origin, or else Referer, names another host is
 *   refused 403; and it carries the per-process CSRF token in `x-csrf-token` (pages have it in a
 *   meta tag, scripts get it from `GET <prefix>/api/csrf`), or is refused 403; a bearer-token
 *   request needs none, as a browser never attaches that header by itself.
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import { isIP } from "node:net"
import * as Effect from "effect/Effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

export const CookieName = "verk_web_token"
export const CsrfHeader = "x-csrf-token"

export interface GuardOptions {
  readonly token: Redacted.Redacted<string> | undefined
  readonly csrf: string
  /** Where the cookie applies: the mount prefix, or `/`. */
  readonly cookiePath: string
  /**
   * Host names accepted in the Host header when there is no token, besides IP addresses and
   * `localhost`: `name` (any port), `name:port` (that port), `.example.com` (every name under it).
   */
  readonly allowedHosts?: ReadonlyArray<string> | undefined
}

const same = (given: string | undefined, expected: string): boolean => {
  if (given === undefined) return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

const refuse = (status: 401 | 403, message: string) =>
  HttpServerResponse.jsonUnsafe({ _tag: status === 401 ? "Unauthorized" : "Forbidden", message }, { status })

/** The credentials of an `Authorization: Bearer` header; the scheme is case-insensitive (RFC 9110). */
export const bearerOf = (header: string | undefined): string | undefined => {
  const match = header === undefined ? null : /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  return match?.[1]
}

/**
 * The cookie's value: an HMAC of the token, so that the cookie (in a browser profile, a proxy's
 * log) is not the secret that opens the API; the same across restarts while the token is.
 */
export const sessionOf = (token: string): string =>
  createHmac("sha256", token).update("verk-web-session/1").digest("base64url")

/** The request's Host (`name` or `name:port`), lower-case: the header, or the absolute URL's. */
const hostOf = (request: HttpServerRequest.HttpServerRequest): string | undefined => {
  const header = request.headers.host
  if (header !== undefined && header !== "") return header.trim().toLowerCase()
  try {
    return new URL(request.originalUrl).host.toLowerCase() || undefined
  } catch {
    return undefined
  }
}

/** `name` of `name:port`, `::1` of `[::1]:4000`. */
const hostnameOf = (host: string): string => {
  if (host.startsWith("[")) return host.slice(1, host.indexOf("]") === -1 ? undefined : host.indexOf("]"))
  const colon = host.lastIndexOf(":")
  return colon === -1 ? host : host.slice(0, colon)
}

const listed = (host: string, allowed: ReadonlyArray<string>): boolean => {
  const name = hostnameOf(host)
  return allowed.some((entry) => {
    const wanted = entry.trim().toLowerCase()
    if (wanted === "") return false
    if (wanted.startsWith(".")) return name.endsWith(wanted) || name === wanted.slice(1)
    return wanted === host || wanted === name
  })
}

/**
 * A Host no other site can have: a name rebound to this address by DNS arrives with that name,
 * whereas an IP address or `localhost` (which browsers resolve to loopback themselves) is only
 * what was typed to reach this server.
 */
export const hostAllowed = (host: string | undefined, allowed: ReadonlyArray<string>): boolean => {
  if (host === undefined) return false
  const name = hostnameOf(host)
  return isIP(name) !== 0 || name === "localhost" || name.endsWith(".localhost") || listed(host, allowed)
}

/** HTTPS to this server, or to the proxy in front of it (X-Forwarded-Proto, Forwarded's proto). */
export const overHttps = (request: HttpServerRequest.HttpServerRequest): boolean => {
  if (request.originalUrl.startsWith("https:")) return true
  const forwarded = request.headers["x-forwarded-proto"]?.split(",")[0]?.trim().toLowerCase()
  if (forwarded !== undefined) return forwarded === "https"
  return /(?:^|[;,\s])proto="?https"?(?:$|[;,\s])/i.test(request.headers.forwarded ?? "")
}

/**
 * Whether a change comes from a page of this dashboard: its Origin (or, without one, its Referer)
 * names the request's host, the host a proxy forwarded it for, or an allowed host. Neither header
 * (a script, curl) passes: such a request still needs the CSRF token or the bearer token.
 */
const sameOrigin = (request: HttpServerRequest.HttpServerRequest, allowed: ReadonlyArray<string>): boolean => {
  const source = request.headers.origin ?? request.headers.referer
  if (source === undefined || source === "") return true
  let host: string
  try {
    host = new URL(source).host.toLowerCase()
  } catch {
    return false // "null" (a sandboxed frame, a file) or garbage: not one of our pages
  }
  const forwarded = request.headers["x-forwarded-host"]?.split(",")[0]?.trim().toLowerCase()
  return host === hostOf(request) || host === forwarded || listed(host, allowed)
}

/** Wraps a route's handler with the Host, token, Origin and CSRF checks. */
export const guard = (options: GuardOptions) => {
  const allowed = options.allowedHosts ?? []
  const token = options.token === undefined ? undefined : Redacted.value(options.token)
  const session = token === undefined ? undefined : sessionOf(token)
  return <E, R>(
    handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (token === undefined) {
        const host = hostOf(request)
        if (!hostAllowed(host, allowed)) {
          return refuse(
            403,
            `Verk Web without a token answers only to an IP address, localhost or an allowed host (allowedHosts, VERK_WEB_ALLOWED_HOSTS), not to ${host ?? "a request without Host"}`,
          )
        }
      }
      const bearer = token !== undefined && same(bearerOf(request.headers.authorization), token)
      if (token !== undefined && session !== undefined && !bearer) {
        if (!same(request.cookies[CookieName], session)) {
          const url = new URL(request.originalUrl, "http://verk.invalid")
          const given = url.searchParams.get("token")
          if (request.method !== "GET" || given === null || !same(given, token)) {
            return refuse(
              401,
              "Verk Web needs its token: Authorization: Bearer <token>, or open a page with ?token=<token>",
            )
          }
          // The token leaves the address bar (and history) at once; the cookie carries a value made from it.
          url.searchParams.delete("token")
          return yield* HttpServerResponse.redirect(`${url.pathname}${url.search}`, { status: 303 }).pipe(
            HttpServerResponse.setCookie(CookieName, session, {
              httpOnly: true,
              sameSite: "strict",
              path: options.cookiePath,
              secure: overHttps(request),
            }),
            Effect.orDie,
          )
        }
      }
      if (request.method !== "GET" && request.method !== "HEAD") {
        if (!sameOrigin(request, allowed)) {
          return refuse(
            403,
            "a change must come from a page of this dashboard (its Origin or Referer names another host)",
          )
        }
        if (!bearer && !same(request.headers[CsrfHeader], options.csrf)) {
          return refuse(403, `a change needs the ${CsrfHeader} header of the page (GET api/csrf gives it)`)
        }
      }
      return yield* handler
    })
}

/** A token from an option or the environment; an empty one means none. */
export const tokenFrom = (
  value: string | Redacted.Redacted<string> | undefined,
): Redacted.Redacted<string> | undefined =>
  Option.getOrUndefined(
    Option.filter(
      Option.map(Option.fromNullishOr(value), (v) => (Redacted.isRedacted(v) ? v : Redacted.make(v))),
      (v) => Redacted.value(v) !== "",
    ),
  )

/** Allowed hosts from an option or the environment's comma-separated list; blanks dropped. */
export const allowedHostsFrom = (value: string | ReadonlyArray<string> | undefined): ReadonlyArray<string> =>
  (typeof value === "string" ? value.split(",") : (value ?? []))
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry !== "")
