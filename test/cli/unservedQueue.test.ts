/**
 * `verk run` with a worker on a queue VERK_QUEUES leaves out: one warning at start naming the
 * worker, its queue and how to serve it; served once VERK_QUEUES names the queue.
 */
import { afterEach, describe, expect, it } from "vitest"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { startVerk, verk } from "./support.ts"

const namespaces: Array<string> = []
afterEach(async () => {
  for (const namespace of namespaces.splice(0)) await deleteNamespace(redisUrl(), namespace)
})

const environment = (extra: Record<string, string> = {}) => {
  const namespace = uniqueNamespace()
  namespaces.push(namespace)
  return { REDIS_URL: redisUrl(), VERK_NAMESPACE: namespace, VERK_SHUTDOWN_TIMEOUT: "2s", ...extra }
}

const warning = 'Worker SendMail uses queue "mail", which this node does not serve (it serves default)'

describe("verk run with a worker on a queue this node does not serve", () => {
  it("warns once at start, naming the worker, its queue and VERK_QUEUES", async () => {
    const worker = startVerk(["run", "test/cli/fixtures/mailWorker.ts"], environment())
    // The warning is logged while the runtime starts, before this line (same stream, in order).
    await worker.waitFor("worker process ready")
    const output = worker.stdout()
    expect(output.split(warning).length - 1).toBe(1)
    expect(output).toContain("VERK_QUEUES=default:25,mail:25")
    expect(output).not.toContain("Worker Ping uses queue")
    worker.child.kill("SIGTERM")
    expect((await worker.exited).code).toBe(0)
  })

  it("serves the queue, and says nothing, once VERK_QUEUES names it", async () => {
    const env = environment({ VERK_QUEUES: "default:2,mail:2" })
    const worker = startVerk(["run", "test/cli/fixtures/mailWorker.ts"], env)
    await worker.waitFor("worker process ready")
    expect((await verk(["enqueue", "SendMail", '["ada@example.com"]', "--queue", "mail"], env)).code).toBe(0)
    await worker.waitFor("mail to ada@example.com")
    expect(worker.stdout()).not.toContain("which this node does not serve")
    worker.child.kill("SIGTERM")
    expect((await worker.exited).code).toBe(0)
  })
})
