/**
 * The messages between the node and its worker threads (Threads.ts, ThreadMain.ts): plain data,
 * sent by structured clone over the thread's port.
 */
import type { Threads } from "@verk/core"

/** To a thread: run one job of `worker`, given as its wire text. */
export interface Run {
  readonly _tag: "Run"
  readonly worker: string
  readonly payload: string
}

/** To a thread: close the module's services and end. */
export interface Close {
  readonly _tag: "Close"
}

/** What a thread is sent. */
export type ToThread = Run | Close

/** From a thread: the module is loaded and its layer built; it takes jobs. */
export interface Ready {
  readonly _tag: "Ready"
}

/** From a thread: the running job reported its progress (checked already by its `CurrentJob`). */
export interface Progress {
  readonly _tag: "Progress"
  readonly percent: number
  readonly message: string | undefined
}

/** From a thread: the job ended. */
export interface Done {
  readonly _tag: "Done"
  readonly outcome: Threads.ThreadOutcome
}

/** What a thread sends. */
export type FromThread = Ready | Progress | Done

/** What a thread is started with (`workerData`). */
export interface ThreadData {
  /** The module's file URL or path. */
  readonly module: string
  /** The node's compile cache directory, when it has one (`module.getCompileCacheDir`). */
  readonly compileCache: string | undefined
}
