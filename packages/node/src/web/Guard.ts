/**
 * Verk Web's gate, in front of every route it adds (pages and API alike):
 *
 * - with a token (VERK_WEB_TOKEN), a request must carry it: `Authorization: Bearer <token>`, or the
 *   HttpOnly cookie that opening a page with `?token=<token>` sets (then the page is reloaded
 *   without the token in its address); anything else is refused 401;
 * - every POST carries the per-process CSRF token in `x-csrf-token` (pages have it in a meta tag,
 *   scripts get it from `GET <prefix>/api/csrf`), or is refused 403; a bearer-token request needs
 *   none, as a browser never attaches that header by itself.
 */
import { timingSafeEqual } from "node:crypto"
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
}

const same = (given: string | undefined, expected: string): boolean => {
  if (given === undefined) return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

const refuse = (status: 401 | 403, message: string) =>
  HttpServerResponse.jsonUnsafe({ _tag: status === 401 ? "Unauthorized" : "Forbidden", message }, { status })

const bearerOf = (request: HttpServerRequest.HttpServerRequest): string | undefined => {
  const header = request.headers.authorization
  return header?.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : undefined
}

/** Wraps a route's handler with the token and CSRF checks. */
export const guard =
  (options: GuardOptions) =>
  <E, R>(
    handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const bearer = options.token !== undefined && same(bearerOf(request), Redacted.value(options.token))
      if (options.token !== undefined && !bearer) {
        const token = Redacted.value(options.token)
        if (!same(request.cookies[CookieName], token)) {
          const url = new URL(request.originalUrl, "http://verk.invalid")
          const given = url.searchParams.get("token")
          if (request.method !== "GET" || given === null || !same(given, token)) {
            return refuse(
              401,
              "Verk Web needs its token: Authorization: Bearer <token>, or open a page with ?token=<token>",
            )
          }
          // The token leaves the address bar (and history) at once; the cookie carries it from now on.
          url.searchParams.delete("token")
          return yield* HttpServerResponse.redirect(`${url.pathname}${url.search}`, { status: 303 }).pipe(
            HttpServerResponse.setCookie(CookieName, token, {
              httpOnly: true,
              sameSite: "strict",
              path: options.cookiePath,
            }),
            Effect.orDie,
          )
        }
      }
      if (request.method !== "GET" && request.method !== "HEAD" && !bearer) {
        if (!same(request.headers[CsrfHeader], options.csrf)) {
          return refuse(403, `a change needs the ${CsrfHeader} header of the page (GET api/csrf gives it)`)
        }
      }
      return yield* handler
    })

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
