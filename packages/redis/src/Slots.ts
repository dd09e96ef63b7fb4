/**
 * Redis Cluster's slot of a key: CRC16 (XMODEM) of its hash tag (the text between the first `{`
 * and the next `}`, when not empty) or of the whole key, modulo 16384.
 */
const table = (() => {
  const entries = new Uint16Array(256)
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    entries[byte] = crc
  }
  return entries
})()

const crc16 = (bytes: Uint8Array): number => {
  let crc = 0
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ (table[((crc >> 8) ^ byte) & 0xff] ?? 0)
  return crc
}

/** The part of `key` that is hashed. */
export const hashed = (key: string): string => {
  const open = key.indexOf("{")
  if (open === -1) return key
  const close = key.indexOf("}", open + 1)
  return close === -1 || close === open + 1 ? key : key.slice(open + 1, close)
}

export const of = (key: string): number => crc16(Buffer.from(hashed(key), "utf8")) % 16384
