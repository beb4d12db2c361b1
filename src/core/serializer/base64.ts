/** Base64 for the `Uint8Array` tag, written out: no Buffer, no btoa, the same everywhere. */
import { malformed } from './shared.js'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const PAD = 61 // '='
const ENCODE = new Uint8Array(64)
const DECODE = new Uint8Array(128).fill(255)
for (let i = 0; i < 64; i++) {
  ENCODE[i] = ALPHABET.charCodeAt(i)
  DECODE[ALPHABET.charCodeAt(i)] = i
}
/** Characters converted per `String.fromCharCode` call, well under engines' argument limits. */
const CHUNK = 0x2000

/** Base64 through a byte buffer: no string concatenation per byte, no Buffer, no btoa quirks. */
export function toBase64(bytes: Uint8Array): string {
  const n = bytes.length
  const out = new Uint8Array(Math.ceil(n / 3) * 4)
  let o = 0
  let i = 0
  for (; i + 2 < n; i += 3) {
    const t = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out[o++] = ENCODE[t >>> 18]!
    out[o++] = ENCODE[(t >>> 12) & 63]!
    out[o++] = ENCODE[(t >>> 6) & 63]!
    out[o++] = ENCODE[t & 63]!
  }
  if (n - i === 1) {
    const t = bytes[i]! << 16
    out[o++] = ENCODE[t >>> 18]!
    out[o++] = ENCODE[(t >>> 12) & 63]!
    out[o++] = PAD
    out[o++] = PAD
  } else if (n - i === 2) {
    const t = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out[o++] = ENCODE[t >>> 18]!
    out[o++] = ENCODE[(t >>> 12) & 63]!
    out[o++] = ENCODE[(t >>> 6) & 63]!
    out[o++] = PAD
  }
  let text = ''
  for (let c = 0; c < out.length; c += CHUNK) {
    text += String.fromCharCode.apply(null, out.subarray(c, c + CHUNK) as unknown as number[])
  }
  return text
}

function sextet(text: string, i: number): number {
  const value = DECODE[text.charCodeAt(i)] ?? 255
  if (value === 255) throw malformed('a Uint8Array (bad base64)')
  return value
}

export function fromBase64(text: string): Uint8Array {
  let end = text.length
  while (end > 0 && text.charCodeAt(end - 1) === PAD) end--
  if (end % 4 === 1 || text.length - end > 2) throw malformed('a Uint8Array (bad base64 length)')
  const out = new Uint8Array((end * 3) >> 2)
  let o = 0
  let i = 0
  for (; i + 3 < end; i += 4) {
    const t = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12) | (sextet(text, i + 2) << 6) | sextet(text, i + 3)
    out[o++] = t >>> 16
    out[o++] = (t >>> 8) & 255
    out[o++] = t & 255
  }
  if (end - i === 2) {
    out[o] = ((sextet(text, i) << 18) | (sextet(text, i + 1) << 12)) >>> 16
  } else if (end - i === 3) {
    const t = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12) | (sextet(text, i + 2) << 6)
    out[o++] = t >>> 16
    out[o] = (t >>> 8) & 255
  }
  return out
}
