/**
 * Vitest global setup: the Redis the tests use. `REDIS_URL` when set (the tests only ever touch
 * keys under their own fresh namespace); otherwise one throwaway `redis-server` for the whole run,
 * stopped at teardown.
 */
import type { TestProject } from "vitest/node"
import { startRedisServer } from "./redisServer.ts"

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const urlFromEnv = process.env.REDIS_URL
  if (urlFromEnv !== undefined && urlFromEnv !== "") {
    project.provide("redisUrl", urlFromEnv)
    return async () => {}
  }
  let server: Awaited<ReturnType<typeof startRedisServer>>
  try {
    server = await startRedisServer()
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new Error(`The tests need Redis: set REDIS_URL, or put redis-server on PATH.\n${reason}`)
  }
  project.provide("redisUrl", server.url)
  return () => server.stop()
}
