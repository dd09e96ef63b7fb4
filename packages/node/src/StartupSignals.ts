/**
 * SIGTERM and SIGINT while a worker process starts. Until the runtime listens for them (`runMain`),
 * Node's default ends the process at once, killed by the signal (exit status 143 in a shell)
 * rather than exiting 0; and loading the modules takes most of a start. `holdSignals`, called first
 * thing, keeps such a signal until the runtime listens, then sends it again: the runtime interrupts
 * whatever it was doing (loading the module, connecting to Redis, registering the node), undoes what
 * was done, and exits 0. Node built-ins only, so that it costs nothing to load first.
 *
 * Before the first line of JavaScript runs (Node's own start, some tens of milliseconds) a signal
 * still ends the process: nothing has been started then.
 */

const Signals: ReadonlyArray<NodeJS.Signals> = ["SIGTERM", "SIGINT"]

/**
 * Keeps SIGTERM and SIGINT from ending the process until someone else listens for them, then sends
 * the first one kept again (later ones add nothing: the process is not running jobs yet). Call it
 * once, before loading anything slow.
 */
export const holdSignals = (): void => {
  let held: NodeJS.Signals | undefined
  const hold = (signal: NodeJS.Signals) => {
    held ??= signal
  }
  const stepAside = () => {
    // Only once both signals have a listener besides ours (the runtime adds its two in one step).
    if (!Signals.every((signal) => process.listenerCount(signal) > 1)) return
    process.removeListener("newListener", onNewListener)
    for (const signal of Signals) process.removeListener(signal, hold)
    if (held !== undefined) process.kill(process.pid, held)
  }
  // Called before the listener is added: look once it is.
  const onNewListener = (event: string | symbol) => {
    if (Signals.includes(event as NodeJS.Signals)) process.nextTick(stepAside)
  }
  for (const signal of Signals) process.on(signal, hold)
  process.on("newListener", onNewListener)
}
