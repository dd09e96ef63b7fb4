import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as DeadLetter from "../src/internal/DeadLetter.ts"
import * as Job from "../src/Job.ts"
import * as Payload from "../src/Payload.ts"

const bytes = (...parts: ReadonlyArray<string | ReadonlyArray<number>>): Buffer =>
  Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part, "utf8") : Buffer.from(part))))

const notText = bytes([0x7b, 0xff, 0xfe, 0x7d])
const badByte = bytes('{"class":"X","queue":"mail","args":["', [0xff], '"],"jid":"j-1"}')

describe("Payload's binary form", () => {
  it("UTF-8 bytes are their text; others are the marker and their base64, and come back exactly", () => {
    const job = '{"class":"X","queue":"q","args":["é 𝄞 \\u0000"],"jid":"j"}'
    assert.strictEqual(Payload.fromBytes(Buffer.from(job)), job)
    assert.isFalse(Payload.isBinary(job))
    // A byte-order mark is text, and stays.
    assert.strictEqual(Payload.fromBytes(bytes([0xef, 0xbb, 0xbf], "{}")), "\ufeff{}")
    for (const original of [notText, badByte, bytes([0xc3]), bytes([0xed, 0xa0, 0x80]), bytes([])]) {
      const payload = Payload.fromBytes(original)
      if (original.length === 0) {
        assert.strictEqual(payload, "")
        continue
      }
      assert.isTrue(Payload.isBinary(payload), original.toString("hex"))
      assert.strictEqual(payload, Payload.Marker + original.toString("base64"))
      assert.isTrue(Buffer.from(Payload.toBytes(payload)).equals(original))
      assert.isTrue(Buffer.from(Payload.toWire(payload) as Uint8Array).equals(original))
      assert.isUndefined(Payload.text(payload))
    }
    assert.strictEqual(Payload.toWire(job), job, "text is sent as it is")
  })

  it("a text that starts like the marker is carried in the binary form too, so the form is never ambiguous", () => {
    const tricky = Buffer.from(`${Payload.Marker}e30=`)
    const payload = Payload.fromBytes(tricky)
    assert.isTrue(Payload.isBinary(payload))
    assert.isTrue(Buffer.from(Payload.toBytes(payload)).equals(tricky))
    assert.strictEqual(Payload.text(payload), tricky.toString())
    // NUL alone is not the marker: such a text is itself.
    assert.strictEqual(Payload.fromBytes(Buffer.from("\u0000abc")), "\u0000abc")
  })

  it("lengths, display and log excerpts", () => {
    const payload = Payload.fromBytes(notText)
    assert.strictEqual(Payload.byteLength(payload), 4)
    assert.strictEqual(Payload.length(payload), 4)
    assert.strictEqual(Payload.byteLength("é"), 2)
    assert.strictEqual(Payload.length("é"), 1)
    assert.strictEqual(Payload.display(payload), "{\ufffd\ufffd}")
    assert.strictEqual(Payload.excerpt(payload), '"{\ufffd\ufffd}" (4 bytes, not UTF-8)')
    assert.strictEqual(DeadLetter.excerpt(payload), Payload.excerpt(payload))
    assert.strictEqual(Payload.excerpt('a"b'), '"a\\"b" (3 chars)')
    assert.strictEqual(Payload.base64(payload), notText.toString("base64"))
  })
})

describe("a payload that is not UTF-8", () => {
  it.effect("is never a job, even when its text would be one", () =>
    Effect.gen(function* () {
      for (const original of [notText, badByte]) {
        const raw = Payload.fromBytes(original)
        const exit = yield* Effect.exit(Job.decode(raw))
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? exit.cause : undefined
        assert.include(String(error), `not valid UTF-8, ${original.length} bytes`)
      }
    }),
  )

  it.effect("one that merely starts like the marker is decoded as its text (and is no job)", () =>
    Effect.gen(function* () {
      const raw = Payload.fromBytes(Buffer.from(`${Payload.Marker}{}`))
      const exit = yield* Effect.exit(Job.decode(raw))
      assert.isTrue(Exit.isFailure(exit))
      assert.notInclude(String(Exit.isFailure(exit) ? exit.cause : ""), "UTF-8")
    }),
  )

  it("its dead entry carries the exact bytes in payload_base64 and a lossy copy in payload", () => {
    const raw = Payload.fromBytes(badByte)
    const entry = JSON.parse(Job.malformedDeadEntry(raw, "mail", "not valid UTF-8, 43 bytes", 12_500, "dead-jid"))
    assert.strictEqual(entry.class, Job.MalformedClass)
    assert.isTrue(Buffer.from(entry.payload_base64, "base64").equals(badByte))
    assert.strictEqual(entry.payload, badByte.toString("utf8"))
    // A text payload keeps the old shape: its text byte for byte, no base64.
    const text = JSON.parse(Job.malformedDeadEntry("{oops", "q", "not JSON", 12_500, "dead-jid"))
    assert.strictEqual(text.payload, "{oops")
    assert.notProperty(text, "payload_base64")
  })

  it("still names its queue and jid for the log line and the dead entry", () => {
    const raw = Payload.fromBytes(badByte)
    assert.strictEqual(Job.queueOf(raw), "mail")
    assert.strictEqual(Job.jidOf(raw), "j-1")
  })
})
