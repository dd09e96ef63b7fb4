/**
 * The messages between the node and its worker threads (Threads.ts, ThreadMain.ts): plain data,
 * sent by structured clone through Effect's platform workers.
 */
import type { Threads } from "@verk/core"

/** To a thread: run one job of `worker`, given as its wire text. */
export interface Run {
  readonly _tag: "Run"
  readonly worker: string
  readonly payload: string
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
export type FromThread = Progress | Done

/** What the module the thread loads is given as (`workerData`). */
export interface ThreadData {
  /** The module's file URL or path. */
  readonly module: string
}
