/**
 * Generates `packages/redis/src/luaSources.ts` from the scripts of `lua/`: one exported string
 * constant per script, its text byte for byte (Redis names a script by the SHA-1 of its text),
 * except that a line `-- #include <file>` becomes that file of `lua/include/` (a function several
 * scripts share: a script sent to Redis cannot load another).
 * Run by `npm run build:lua` (and so by `npm run build`); not shipped. The built package carries the
 * scripts in its own module instead of reading `lua/` at run time, which is not there once installed.
 *
 * `packages/redis/test/luaSources.test.ts` fails when the generated module is not current.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { basename, resolve } from "node:path"

export interface LuaScript {
  /** The file name without `.lua`, e.g. `recover_inprogress`. */
  readonly name: string
  /** The file's text, its includes in place. */
  readonly source: string
}

export const luaDir = resolve(import.meta.dirname, "../../../lua")
export const outputFile = resolve(import.meta.dirname, "../src/luaSources.ts")

/** `recover_inprogress` → `recoverInprogress`. */
export const constantName = (name: string): string =>
  name.replace(/[-_]+([a-z0-9])/g, (_, letter: string) => letter.toUpperCase())

/**
 * `source` with each `-- #include <file>` line replaced by that file of `dir`'s `include/`, its
 * own includes in place.
 */
export const withIncludes = (source: string, dir: string = luaDir): string =>
  source.replace(/^-- #include ([a-z_]+\.lua)\n/gm, (_, file: string) =>
    withIncludes(readFileSync(resolve(dir, "include", file), "utf8"), dir),
  )

/** The scripts of `dir`, sorted by name. */
export const readScripts = (dir: string = luaDir): ReadonlyArray<LuaScript> =>
  readdirSync(dir)
    .filter((file) => file.endsWith(".lua"))
    .sort()
    .map((file) => ({
      name: basename(file, ".lua"),
      source: withIncludes(readFileSync(resolve(dir, file), "utf8"), dir),
    }))

/** A template literal whose value is exactly `text`. */
const templateLiteral = (text: string): string =>
  `\`${text.replace(/\\/g, "\\\\").replace(/`/g, "\\`").replace(/\$\{/g, "\\${")}\``

/** The text of `luaSources.ts` for `scripts` (pure: the test compares it with the file). */
export const render = (scripts: ReadonlyArray<LuaScript>): string => {
  const names = new Set<string>()
  const constants = scripts.map(({ name, source }) => {
    const constant = constantName(name)
    if (!/^[a-zA-Z_$][a-zA-Z0-9_$]*$/.test(constant)) throw new Error(`lua/${name}.lua: not a usable name`)
    if (names.has(constant)) throw new Error(`lua/${name}.lua: ${constant} is taken by another script`)
    names.add(constant)
    return `/** \`lua/${name}.lua\` */\nexport const ${constant} = ${templateLiteral(source)}\n`
  })
  return [
    "// Generated from lua/*.lua by `npm run build:lua` (packages/redis/build/embedLua.ts). Do not edit:",
    "// change the .lua file and run `npm run build:lua` again.",
    "",
    constants.join("\n"),
  ].join("\n")
}

/** Writes the module when its text changed; returns whether it did. */
export const generate = (dir: string = luaDir, file: string = outputFile): boolean => {
  const text = render(readScripts(dir))
  let current: string | undefined
  try {
    current = readFileSync(file, "utf8")
  } catch {
    current = undefined
  }
  if (current === text) return false
  writeFileSync(file, text)
  return true
}

if (import.meta.main) {
  const written = generate()
  console.log(`${written ? "wrote" : "unchanged:"} ${outputFile}`)
}
