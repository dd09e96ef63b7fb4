/**
 * The README's TypeScript examples are files of the suite, verbatim: each is type-checked by
 * `npm run check` and run by a test (hello.test.ts, workers.test.ts, producer.test.ts, api.test.ts,
 * errorTracker.test.ts, periodic.test.ts, unique.test.ts, results.test.ts, cancel.test.ts,
 * progress.test.ts, limits.test.ts, readmeExample.test.ts), so what the README shows is true.
 */
import { readFileSync } from "node:fs"
import { assert, it } from "vitest"

const examples = [
  "test/examples/hello.ts",
  "test/examples/workers.ts",
  "test/examples/producer.ts",
  "test/examples/web.ts",
  "test/examples/api.ts",
  "test/examples/errorTracker.ts",
  "test/examples/periodic.ts",
  "test/examples/unique.ts",
  "test/examples/results.ts",
  "test/examples/cancel.ts",
  "test/examples/progress.ts",
  "test/examples/limits.ts",
  "test/testing/readmeExample.test.ts",
]

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8")

it("every TypeScript block of the README is one of the example files, and each file is shown", () => {
  const readme = read("README.md")
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1])
  const files = new Map(examples.map((path) => [path, read(path)]))
  for (const block of blocks) {
    const match = [...files].find(([, text]) => text === block)
    assert.isDefined(match, `a README block is not an example file verbatim:\n${block?.slice(0, 200)}`)
  }
  for (const [path, text] of files) assert.include(blocks, text, `${path} is not shown in the README`)
})
