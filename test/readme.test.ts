/** The README's "Testing your jobs" example is readmeExample.test.ts, verbatim: it is run, so it is true. */
import { readFileSync } from "node:fs"
import { assert, it } from "vitest"

it("the README shows readmeExample.test.ts as it is", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8")
  const example = readFileSync(new URL("./readmeExample.test.ts", import.meta.url), "utf8")
  assert.include(readme, `\`\`\`ts\n${example}\`\`\``)
})
