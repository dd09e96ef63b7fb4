/**
 * The worker processes' side of the bench's line protocol (see processes.ts): counts performs and
 * reports the count, the time of the first and the last one, and the process's CPU time (its own
 * `process.cpuUsage()`, at the first perform and at the report) on stdout, at most every 25 ms.
 * Also ends the process should the bench die without stopping it.
 */
const cpuMicros = () => {
  const { user, system } = process.cpuUsage()
  return user + system
}

export const startReporter = (): (() => void) => {
  let performed = 0
  let reported = 0
  let first = 0
  let cpuFirst = 0
  let last = 0
  setInterval(() => {
    if (performed !== reported) {
      reported = performed
      process.stdout.write(
        `BENCH performed=${performed} last=${last.toFixed(3)} first=${first.toFixed(3)} cpuFirst=${cpuFirst} cpu=${cpuMicros()}\n`,
      )
    }
  }, 25).unref()
  const parent = process.ppid
  setInterval(() => {
    if (process.ppid !== parent) process.exit(3)
  }, 1_000).unref()
  return () => {
    last = performance.timeOrigin + performance.now()
    if (performed++ === 0) {
      first = last
      cpuFirst = cpuMicros()
    }
  }
}
