import { assert, describe, it } from "@effect/vitest"
import * as JsonMembers from "../src/internal/JsonMembers.ts"

/** Each member as `key = value text`. */
const members = (text: string) => {
  const scan = JsonMembers.scan(text)
  return scan.members.map((member) => `${member.key} = ${text.slice(member.valueStart, member.valueEnd)}`)
}

const setOk = (text: string, values: ReadonlyArray<readonly [string, string]>): string => {
  const result = JsonMembers.set(text, values)
  assert.strictEqual(result._tag, "Ok", result._tag === "Error" ? result.error : "")
  return result._tag === "Ok" ? result.text : ""
}

const deep = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`

describe("JsonMembers.scan", () => {
  it("finds each top-level member with its value's source text", () => {
    assert.deepStrictEqual(
      members('{"a":1,"b":"two","c":[3,{"d":4}],"e":{"f":[]},"g":true,"h":false,"i":null,"j":-1.5e+300}'),
      ["a = 1", 'b = "two"', 'c = [3,{"d":4}]', 'e = {"f":[]}', "g = true", "h = false", "i = null", "j = -1.5e+300"],
    )
  })

  it("keeps number text exactly as written (beyond 2^53, exponents, trailing zeros)", () => {
    const text = '{"big":9223372036854775807,"odd":9007199254740993,"huge":1e400,"f":1.50,"neg":-0}'
    assert.deepStrictEqual(members(text), [
      "big = 9223372036854775807",
      "odd = 9007199254740993",
      "huge = 1e400",
      "f = 1.50",
      "neg = -0",
    ])
  })

  it("allows JSON whitespace anywhere between tokens", () => {
    const text = ' \n\t{ "a" :\r\n 1 , "b":\t[ 1 , 2 ] ,"c" : { } } \n'
    assert.deepStrictEqual(members(text), ["a = 1", "b = [ 1 , 2 ]", "c = { }"])
    assert.isUndefined(JsonMembers.scan(text).error)
    assert.strictEqual(JsonMembers.scan(text).closeAt, text.lastIndexOf("}"))
  })

  it("reads an empty object", () => {
    for (const text of ["{}", " { } "]) {
      const scan = JsonMembers.scan(text)
      assert.deepStrictEqual(scan.members, [])
      assert.isUndefined(scan.error)
      assert.strictEqual(scan.closeAt, text.indexOf("}"))
    }
  })

  it("is not fooled by brackets, braces, quotes, commas and colons inside strings", () => {
    const text = String.raw`{"a":"}]),:{[","b":["x\"]}","\\"],"c\"d":"\\\\","e":"\u0022}"}`
    assert.deepStrictEqual(members(text), [
      `a = "}]),:{["`,
      String.raw`b = ["x\"]}","\\"]`,
      String.raw`c"d = "\\\\"`,
      String.raw`e = "\u0022}"`,
    ])
    assert.isUndefined(JsonMembers.scan(text).error)
  })

  it("decodes escaped keys", () => {
    assert.deepStrictEqual(members(String.raw`{"\u0061\n\"":1,"é":2}`), ['a\n" = 1', "é = 2"])
  })

  it("keeps repeated keys, each with its own value", () => {
    assert.deepStrictEqual(members('{"a":1,"a":2}'), ["a = 1", "a = 2"])
  })

  it("handles 100,000 levels of nesting without recursion", () => {
    const text = `{"args":${deep(100_000)},"jid":"j"}`
    const scan = JsonMembers.scan(text)
    assert.isUndefined(scan.error)
    assert.deepStrictEqual(
      scan.members.map((member) => member.key),
      ["args", "jid"],
    )
    assert.strictEqual(scan.members[0]!.valueEnd - scan.members[0]!.valueStart, 200_000)
  })

  for (const [name, text] of [
    ["empty text", ""],
    ["whitespace", "  "],
    ["an array", "[1,2]"],
    ["a string", '"x"'],
    ["a number", "12"],
    ["a key without quotes", "{a:1}"],
    ["a missing colon", '{"a" 1}'],
    ["a missing value", '{"a":}'],
    ["a value cut short", '{"a":'],
    ["a missing comma", '{"a":1 "b":2}'],
    ["a trailing comma", '{"a":1,}'],
    ["an unterminated string", '{"a":"x}'],
    ["an unterminated key", '{"a'],
    ["an unterminated object", '{"a":1'],
    ["an unterminated nested array", '{"a":[1,[2]'],
    ["mismatched brackets", '{"a":[1}'],
    ["a stray closer", '{"a":1]}'],
    ["text after the object", '{"a":1} x'],
    ["two objects", '{"a":1}{"b":2}'],
    ["a bare string where a literal goes", '{"a":tr"ue"}'],
  ] as const) {
    it(`reports ${name} as an error, never throwing`, () => {
      const scan = JsonMembers.scan(text)
      assert.isString(scan.error)
      assert.isUndefined(scan.closeAt)
    })
  }

  it("returns the members found before the text breaks", () => {
    assert.deepStrictEqual(members('{"class": "Broken", "queue": "qa", '), ['class = "Broken"', 'queue = "qa"'])
  })
})

describe("JsonMembers.set", () => {
  it("replaces existing values and leaves every other byte as it was", () => {
    const text = '{ "class":"C", "args":[9223372036854775807,1e400,"\\u00e9"], "retry_count" : 3 ,"n":{"x":1.50} }'
    assert.strictEqual(
      setOk(text, [["retry_count", "4"]]),
      '{ "class":"C", "args":[9223372036854775807,1e400,"\\u00e9"], "retry_count" : 4 ,"n":{"x":1.50} }',
    )
  })

  it("adds absent keys after the last member, in the order given", () => {
    assert.strictEqual(
      setOk('{"a":1} ', [
        ["b", "2"],
        ["c", '"x"'],
      ]),
      '{"a":1,"b":2,"c":"x"} ',
    )
    assert.strictEqual(setOk('{"a":1\n}', [["b", "2"]]), '{"a":1,"b":2\n}')
  })

  it("adds to an empty object without a leading comma", () => {
    assert.strictEqual(setOk("{}", [["a", "1"]]), '{"a":1}')
    assert.strictEqual(setOk(" { } ", [["a", "1"]]), ' {"a":1 } ')
  })

  it("replaces and adds in one pass", () => {
    assert.strictEqual(
      setOk('{"a":1,"b":[2],"c":3}', [
        ["c", "30"],
        ["d", "4"],
        ["a", "10"],
      ]),
      '{"a":10,"b":[2],"c":30,"d":4}',
    )
  })

  it("sets every occurrence of a repeated key", () => {
    assert.strictEqual(setOk('{"a":1,"b":2,"a":3}', [["a", "9"]]), '{"a":9,"b":2,"a":9}')
  })

  it("escapes added keys", () => {
    assert.strictEqual(setOk("{}", [['a"b', "1"]]), '{"a\\"b":1}')
  })

  it("changes nothing when given nothing", () => {
    const text = '{"a" : 1e400}'
    assert.strictEqual(setOk(text, []), text)
  })

  it("patches a job nested 100,000 levels deep", () => {
    const args = deep(100_000)
    const patched = setOk(`{"args":${args},"jid":"j"}`, [["enqueued_at", "1.5"]])
    assert.strictEqual(patched, `{"args":${args},"jid":"j","enqueued_at":1.5}`)
  })

  it("agrees with JSON.parse on the values it leaves and the ones it sets", () => {
    const text = JSON.stringify({ class: "C", args: [1, "two", { three: [3] }], jid: "j", retry_count: 1, extra: null })
    const patched = setOk(text, [
      ["retry_count", "2"],
      ["error_message", JSON.stringify('quote " and \n newline')],
    ])
    assert.deepStrictEqual(JSON.parse(patched), {
      ...JSON.parse(text),
      retry_count: 2,
      error_message: 'quote " and \n newline',
    })
  })

  it("fails on text that is not an object", () => {
    for (const text of ["[1]", '{"a":', "", '{"a":1} {}']) {
      assert.strictEqual(JsonMembers.set(text, [["b", "2"]])._tag, "Error", text)
    }
  })
})

describe("JsonMembers.peekString", () => {
  it("reads a top-level string member", () => {
    assert.strictEqual(JsonMembers.peekString('{"jid":"a\\"b","queue":"q"}', "jid"), 'a"b')
    assert.strictEqual(JsonMembers.peekString('{"jid":"a","queue":"q"}', "queue"), "q")
  })

  it("ignores nested members and non-string values", () => {
    assert.isUndefined(JsonMembers.peekString('{"args":{"jid":"inner"},"n":1}', "jid"))
    assert.isUndefined(JsonMembers.peekString('{"jid":12}', "jid"))
  })

  it("reads what comes before the text breaks, and nothing after", () => {
    assert.strictEqual(JsonMembers.peekString('{"jid":"early","class":', "jid"), "early")
    assert.isUndefined(JsonMembers.peekString('{"class":, "jid":"late"}', "jid"))
    assert.isUndefined(JsonMembers.peekString("not json", "jid"))
  })
})
