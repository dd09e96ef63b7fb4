/**
 * The worker processes' side of the bench's line protocol (see processes.ts): counts performs and
 * reports the count and the time of the last one on stdout, at most every 25 ms. Also ends the
 * process should the bench die without stopping it.
 */
export const startReporter = (): (() => void) => {
  let performed = 0
  let reported = 0
  let last = 0
  setInterval(() => {
    if (performed !== reported) {
      reported = performed
      process.stdout.write(`BENCH performed=${performed} last=${last.toFixed(3)}\n`)
    }
  }, 25).unref()
  const parent = process.ppid
  setInterval(() => {
    if (process.ppid !== parent) process.exit(3)
  }, 1_000).unref()
  return () => {
    performed++
    last = performance.timeOrigin + performance.now()
  }
}
