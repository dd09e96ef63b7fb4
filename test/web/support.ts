/**
 * What the Verk Web tests share: a fresh Redis store (the runtime harness's), the dashboard as a
 * fetch handler (API tests, no port) or on a real port (browser tests), wire jobs to seed the store
 * with, and headless Chromium (Debian's, driven by playwright-core).
 */
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect, Layer } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { type Browser, chromium, type Page } from "playwright-core"
import { Store } from "../../packages/core/src/Store.ts"
import * as Web from "../../packages/node/src/web/Web.ts"
import { type StoreKind, storeKinds, type TestStore } from "../runtime/support.ts"
import { ChromiumPath } from "../support/chromium.ts"

const found = storeKinds.find((kind) => kind.isRedis)
if (found === undefined) throw new Error("the runtime harness has no Redis store kind")
export const redisKind: StoreKind = found

/** A wire job; `extra` overrides or adds keys. */
export const wireJob = (jid: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ class: "TestWorker", queue: "default", args: [jid], jid, retry: true, ...extra })

/** The dashboard as a fetch handler on `testStore`, closed with the current scope. */
export const webHandler = (testStore: TestStore, options: Web.Options = {}) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      HttpRouter.toWebHandler(
        Web.layer(options).pipe(
          Layer.provide(Layer.succeedContext(testStore.context)),
          Layer.provide(HttpServer.layerServices),
        ),
        { disableLogger: true },
      ),
    ),
    ({ dispose }) => Effect.promise(() => dispose()),
  ).pipe(
    Effect.map(({ handler }) => {
      const base = `http://localhost${options.prefix ?? ""}`
      return (path: string, init?: RequestInit) => Effect.promise(() => handler(new Request(`${base}${path}`, init)))
    }),
  )

export const freePort = Effect.promise(
  () =>
    new Promise<number>((resolve, reject) => {
      const server = createServer()
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
      })
    }),
)

/** The dashboard on a real port of 127.0.0.1 until the scope closes; returns its base URL. */
export const serveWeb = Effect.fnUntraced(function* (testStore: TestStore, options: Web.Options = {}) {
  const port = yield* freePort
  yield* Layer.build(Web.serve({ ...options, port }).pipe(Layer.provide(Layer.succeedContext(testStore.context))))
  return `http://127.0.0.1:${port}${options.prefix ?? ""}`
})

export const storeOf = (testStore: TestStore) => Context.get(testStore.context, Store)

/** How a page fits its viewport: its width and the viewport's, and the nav links outside the header. */
export interface PageFit {
  readonly scroll: number
  readonly client: number
  readonly outside: ReadonlyArray<string | null>
}

/** Measures, in the page, how it fits its viewport (a phone's: no sideways scroll, the nav inside). */
export const measureFit = (page: Page): Promise<PageFit> =>
  page.evaluate(() => {
    const root = document.documentElement
    const header = document.querySelector("header")?.getBoundingClientRect()
    const outside = [...document.querySelectorAll("header nav a")].filter((link) => {
      const box = link.getBoundingClientRect()
      return header === undefined || box.bottom > header.bottom || box.right > root.clientWidth
    })
    return { scroll: root.scrollWidth, client: root.clientWidth, outside: outside.map((link) => link.textContent) }
  })

/** Where screenshots go: outside the repository. */
export const screenshotDir = join(tmpdir(), "verk-web-screenshots")

export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({
    executablePath: ChromiumPath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  })
