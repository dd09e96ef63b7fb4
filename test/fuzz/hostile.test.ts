/**
 * Hostile payloads, fuzzed on the real Redis store (see hostile.ts for what is generated and
 * checked). The suite runs a few floods with a fixed seed; `npm run fuzz` runs many with a random
 * seed (VERK_FUZZ_SEED, VERK_FUZZ_RUNS override both), and prints the seed to replay a failure.
 */
import fc from "fast-check"
import { it } from "vitest"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { flood, runScenario } from "./hostile.ts"

const seedSetting = process.env.VERK_FUZZ_SEED
const seed = seedSetting === "random" ? Date.now() : seedSetting ? Number(seedSetting) : 20261129
const numRuns = Number(process.env.VERK_FUZZ_RUNS ?? 3)

it(`a flood of hostile payloads (seed ${seed}, ${numRuns} floods): good jobs run once, bad ones are kept byte for byte, nothing stays in progress`, {
  timeout: 60_000 + numRuns * 60_000,
}, async () => {
  const result = await fc.check(
    fc.asyncProperty(flood, async (payloads) => {
      const namespace = uniqueNamespace()
      try {
        const problems = await runScenario(redisUrl(), namespace, payloads)
        if (problems.length > 0) throw new Error(problems.join("\n"))
      } finally {
        await deleteNamespace(redisUrl(), namespace)
      }
    }),
    { seed, numRuns, endOnFailure: true },
  )
  // The counterexample holds megabytes of payloads: report what went wrong and how to replay it.
  if (result.failed) {
    const cause = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance)
    throw new Error(`flood ${result.numRuns} of seed ${seed} failed (replay: VERK_FUZZ_SEED=${seed}):\n${cause}`)
  }
})
