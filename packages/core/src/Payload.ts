/**
 * A payload's identity is its bytes: what was fetched is what is acked, requeued, recovered and
 * kept in dead, whatever its encoding. The store contract carries payloads as strings. A payload
 * that is UTF-8 text (every job is: JSON is text) is that text. Any other one is carried in the
 * *binary form*: `Marker` followed by the base64 of its bytes. A store turns that form back into the
 * exact bytes whenever it sends a payload to Redis, and `Job.decode` reports it as malformed (a
 * payload that is not UTF-8 cannot be a job; Sidekiq's JSON parser refuses it too).
 *
 * The marker starts with NUL, which no JSON text starts with; a text that does start with the
 * marker is carried in the binary form too, so that the form is never ambiguous.
 */
import { Buffer, isUtf8 } from "node:buffer"

/** What starts a payload in the binary form. */
export const Marker = "\u0000verk-bytes:"

/** Whether `payload` is in the binary form (its bytes are not UTF-8 text, or start like the marker). */
export const isBinary = (payload: string): boolean => payload.startsWith(Marker)

const MarkerBytes = Buffer.from(Marker, "utf8")

const startsWithMarker = (bytes: Uint8Array): boolean => {
  if (bytes.length < MarkerBytes.length || bytes[0] !== 0) return false
  for (let i = 1; i < MarkerBytes.length; i++) if (bytes[i] !== MarkerBytes[i]) return false
  return true
}

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** The payload for `bytes` as read from a store: their text when they are UTF-8, else the binary form. */
export const fromBytes = (bytes: Uint8Array): string => {
  const buffer = asBuffer(bytes)
  // `isUtf8` is one SIMD pass: the hot path (fetching jobs) pays that and the decoding it paid before.
  if (isUtf8(buffer) && !startsWithMarker(buffer)) return buffer.toString("utf8")
  return Marker + buffer.toString("base64")
}

/** The exact bytes of `payload`: the base64 of the binary form decoded, or the text as UTF-8. */
export const toBytes = (payload: string): Uint8Array =>
  isBinary(payload) ? Buffer.from(payload.slice(Marker.length), "base64") : Buffer.from(payload, "utf8")

/** What to send to Redis for `payload`: the text itself, or the bytes of the binary form. */
export const toWire = (payload: string): string | Uint8Array => (isBinary(payload) ? toBytes(payload) : payload)

/**
 * The text of `payload` when its bytes are UTF-8 (every payload not in the binary form, and one in
 * it that merely starts like the marker), else `undefined`.
 */
export const text = (payload: string): string | undefined => {
  if (!isBinary(payload)) return payload
  const bytes = asBuffer(toBytes(payload))
  return isUtf8(bytes) ? bytes.toString("utf8") : undefined
}

/** The base64 of `payload`'s exact bytes (for a dead-set entry, which JSON must carry as text). */
export const base64 = (payload: string): string =>
  isBinary(payload) ? payload.slice(Marker.length) : Buffer.from(payload, "utf8").toString("base64")

/** How many bytes `payload` has in the store. */
export const byteLength = (payload: string): number =>
  isBinary(payload) ? toBytes(payload).length : Buffer.byteLength(payload, "utf8")

/** The length logs give: UTF-16 characters of a text, bytes of the binary form. */
export const length = (payload: string): number => (isBinary(payload) ? byteLength(payload) : payload.length)

/** The payload as text for people: bytes that are not UTF-8 become U+FFFD. Never use it as identity. */
export const display = (payload: string): string =>
  isBinary(payload) ? asBuffer(toBytes(payload)).toString("utf8") : payload

/** A payload in a log line: never whole (it may be megabytes), escaped, with its length. */
export const excerpt = (payload: string, max = 120): string => {
  const shown = display(payload)
  const size = text(payload) === undefined ? `${byteLength(payload)} bytes, not UTF-8` : `${shown.length} chars`
  return `${JSON.stringify(shown.slice(0, max))}${shown.length > max ? "..." : ""} (${size})`
}
