/**
 * The on-disk frame: every journal and snapshot is a sequence of frames.
 *
 *   u32 LE payload length | u32 LE crc32(payload) | u32 LE crc32(the 8 bytes before) | payload
 *
 * The header has its own checksum so that a damaged length field is caught as damage instead of
 * being read as "the rest of the file is one unfinished frame", which would hide corruption as
 * a torn tail.
 */
import { isAscii } from 'node:buffer'
import { crc32 } from 'node:zlib'

export const HEADER_BYTES = 12

/** Builds one frame around `payload`. */
export function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length)
  out.writeUInt32LE(payload.length, 0)
  out.writeUInt32LE(crc32(payload), 4)
  out.writeUInt32LE(crc32(out.subarray(0, 8)), 8)
  payload.copy(out, HEADER_BYTES)
  return out
}

/** Builds one frame around the UTF-8 bytes of `text`, encoded straight into it (no copy of a payload buffer). */
export function frameText(text: string): Buffer {
  const length = Buffer.byteLength(text, 'utf8')
  const out = Buffer.allocUnsafe(HEADER_BYTES + length)
  out.write(text, HEADER_BYTES, 'utf8')
  out.writeUInt32LE(length, 0)
  out.writeUInt32LE(crc32(out.subarray(HEADER_BYTES)), 4)
  out.writeUInt32LE(crc32(out.subarray(0, 8)), 8)
  return out
}

/** A frame's payload parsed as JSON; undefined when it is not JSON. */
export function parsePayload<T>(payload: Buffer): T | undefined {
  try {
    // Journals and snapshots are mostly ASCII: checking that is cheaper than UTF-8 decoding,
    // and latin1 of ASCII is a plain copy.
    return JSON.parse(isAscii(payload) ? payload.toString('latin1') : payload.toString('utf8')) as T
  } catch {
    return undefined
  }
}

/** A frame found in a buffer. */
export interface FoundFrame {
  readonly offset: number
  readonly end: number
  readonly payload: Buffer
}

/** The frame at `offset`, or undefined if the bytes there are not a whole, intact frame. */
export function frameAt(buffer: Buffer, offset: number): FoundFrame | undefined {
  if (buffer.length - offset < HEADER_BYTES) return undefined
  if (crc32(buffer.subarray(offset, offset + 8)) !== buffer.readUInt32LE(offset + 8)) return undefined
  const length = buffer.readUInt32LE(offset)
  const end = offset + HEADER_BYTES + length
  if (end > buffer.length) return undefined
  const payload = buffer.subarray(offset + HEADER_BYTES, end)
  if (crc32(payload) !== buffer.readUInt32LE(offset + 4)) return undefined
  return { offset, end, payload }
}

/** Where the first intact frame after `offset` starts: damage followed by good data is corruption, not a torn tail. */
export function nextIntactFrame(buffer: Buffer, offset: number): number | undefined {
  for (let at = offset + 1; at + HEADER_BYTES <= buffer.length; at++) {
    if (frameAt(buffer, at) !== undefined) return at
  }
  return undefined
}

/** The result of reading a file of frames. */
export interface ScannedFrames {
  readonly frames: FoundFrame[]
  /** Where the intact frames end. Less than the file's length when the tail was torn. */
  readonly goodLength: number
}

/**
 * Reads every frame of `buffer`. A damaged or unfinished last frame (a write cut short by a crash)
 * is a torn tail: reading stops before it. Damage with an intact frame after it is corruption,
 * reported through `corrupt(offset)`, which must throw.
 */
export function scanFrames(buffer: Buffer, corrupt: (offset: number) => never): ScannedFrames {
  const frames: FoundFrame[] = []
  let offset = 0
  while (offset < buffer.length) {
    const found = frameAt(buffer, offset)
    if (found === undefined) {
      if (nextIntactFrame(buffer, offset) !== undefined) corrupt(offset)
      break
    }
    frames.push(found)
    offset = found.end
  }
  return { frames, goodLength: offset }
}
