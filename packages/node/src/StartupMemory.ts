/**
 * Gives back the memory a worker process used to start, once it idles. Loading and connecting
 * allocate a few dozen MiB that are garbage once the worker is ready, and V8 grows its young
 * generation to the largest size `NodeFlags` allows (2 × 16 MiB) on the way. An idle worker then
 * allocates too little for V8 ever to collect or shrink again, so all of it stays resident for as
 * long as the worker idles (about 30 MiB of its RSS). One memory-reducing collection frees it.
 *
 * Not at once: a worker that starts into a backlog would pay for it. After that collection the next
 * drain starts cold (young generation regrown, code warmed up again): measured, about 0.1–0.2 s of
 * CPU, +2 µs per job over a 50,000-job drain begun right after it. So the collection waits until
 * the process has idled for `IdleMillis` (event-loop utilization below 5%), and happens once.
 */
import { performance } from "node:perf_hooks"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

type CollectGarbage = (options?: {
  readonly type?: string
  readonly execution?: string
  readonly flavor?: string
}) => void

/** V8's `gc` (as `--expose-gc` gives it), taken without changing the process's global scope. */
const collector = (): CollectGarbage | undefined => {
  try {
    setFlagsFromString("--expose-gc")
    // The flag only applies to contexts made after it: a new context has `gc`, this one does not.
    const gc: unknown = runInNewContext("gc")
    return typeof gc === "function" ? (gc as CollectGarbage) : undefined
  } catch {
    return undefined
  } finally {
    setFlagsFromString("--no-expose-gc")
  }
}

/**
 * A full, memory-reducing collection ("last resort": V8 also shrinks the young generation and
 * releases its pooled pages). It stops the process for a few dozen ms.
 */
export const releaseStartupMemory = (): void => {
  collector()?.({ type: "major", execution: "sync", flavor: "last-resort" })
}

/** How long the process must idle before the collection. */
export const IdleMillis = 5_000

/** Busy below this share of the event loop's time is idle (an idle worker polls once a second). */
const IdleUtilization = 0.05

/**
 * Waits until the event loop has been idle for a whole `IdleMillis` window, then releases the
 * start-up memory, once. Fork it when the worker is ready.
 */
export const releaseWhenIdle: Effect.Effect<void> = Effect.gen(function* () {
  let since = performance.eventLoopUtilization()
  while (true) {
    yield* Effect.sleep(Duration.millis(IdleMillis))
    const now = performance.eventLoopUtilization()
    const window = performance.eventLoopUtilization(now, since)
    since = now
    if (window.utilization < IdleUtilization) return releaseStartupMemory()
  }
})
