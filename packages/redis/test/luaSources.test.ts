/**
 * `src/luaSources.ts` is generated from `lua/`: it must be current, or the package would run other
 * scripts than the ones in `lua/` (and than the ones the fault tests hash).
 */
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { describe, expect, it } from "vitest"
import { constantName, luaDir, outputFile, readScripts, render } from "../build/embedLua.ts"
import * as Lua from "../src/luaSources.ts"

describe("luaSources.ts", () => {
  it("is what `npm run build:lua` generates from lua/ now", () => {
    const current = readFileSync(outputFile, "utf8")
    expect(
      current === render(readScripts()),
      "packages/redis/src/luaSources.ts is stale: run `npm run build:lua`",
    ).toBe(true)
  })

  it("holds every script byte for byte", () => {
    const scripts = readScripts()
    expect(scripts.length).toBeGreaterThan(0)
    const sources: Record<string, unknown> = Lua
    for (const { name, source } of scripts) expect(sources[constantName(name)], name).toBe(source)
    expect(Object.keys(sources).sort()).toEqual(scripts.map(({ name }) => constantName(name)).sort())
  })

  it("puts each included file of lua/include/ in place of its `-- #include` line", () => {
    const sources: Record<string, string> = Lua
    for (const [name, source] of Object.entries(sources)) expect(source, name).not.toContain("-- #include")
    const settle = readFileSync(resolve(luaDir, "include", "settle.lua"), "utf8")
    for (const name of ["ack", "retry", "kill"]) expect(sources[name], name).toContain(settle)
    expect(readFileSync(resolve(luaDir, "ack.lua"), "utf8")).toContain("-- #include settle.lua\n")
  })

  it("escapes what a template literal would interpret", () => {
    // A backtick, a backslash, a placeholder ("$" then "{"), and a lone "$".
    const placeholder = ["$", "{x}"].join("")
    const source = ["-- `key` \\n", placeholder, "$ {y}", "return '\\\\'", ""].join("\n")
    const text = render([{ name: "odd_one", source }])
    const module = text.replace(/^\/\/.*$/gm, "").replace("export const oddOne =", "return")
    expect(new Function(module)()).toBe(source)
  })
})
