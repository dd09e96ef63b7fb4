/**
 * The entry of a worker thread of Threads.ts: Node's compile cache first, when the node that
 * started the thread has one (`verk run` does, see bin.ts), so that each thread after the first
 * compiles the module's code no more; then the thread itself (ThreadRun.ts), loaded after it.
 */
import Module from "node:module"
import { workerData } from "node:worker_threads"
import type { ThreadData } from "./ThreadWire.ts"

const { compileCache } = workerData as ThreadData
if (compileCache !== undefined) Module.enableCompileCache?.(compileCache)
await import("./ThreadRun.ts")
