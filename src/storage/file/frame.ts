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

/**
 * Texts up to this many UTF-16 units are encoded into room for their largest UTF-8 form (3 bytes
 * a unit) without measuring them first: `Buffer.byteLength` walks the text a character at a
 * time, and cost more than the encoding itself (~1.4 instructions a byte against ~0.3; ~2% of
 * the main thread's instructions a task on file storage, where every batch's frame is this
 * size). A longer text (a burst of sends) is measured, so its room is not three times its size.
 */
const UNMEASURED_UNITS = 64 * 1024

/** The room {@link frameItems} may reuse: enough for any unmeasured payload. */
export const FRAME_ROOM_BYTES = HEADER_BYTES + 3 * UNMEASURED_UNITS

/** Builds one frame around the UTF-8 bytes of `text`, encoded straight into it (no copy of a payload buffer). */
export function frameText(text: string): Buffer {
  if (text.length <= UNMEASURED_UNITS) {
    const room = Buffer.allocUnsafe(HEADER_BYTES + 3 * text.length)
    return seal(room, room.write(text, HEADER_BYTES, 'utf8'))
  }
  const length = Buffer.byteLength(text, 'utf8')
  const out = Buffer.allocUnsafe(HEADER_BYTES + length)
  out.write(text, HEADER_BYTES, 'utf8')
  return seal(out, length)
}

const OPEN = 0x5b // [
const CLOSE = 0x5d // ]
const COMMA = 0x2c // ,

/**
 * The frame of the JSON array `[first,items[0],items[1],...]`, each element given as its JSON
 * text, as {@link frameText} of that text would build it; each text is encoded straight into the
 * frame. The journal's flush frame is made so: concatenating its calls' texts first built a rope
 * that the encoding then copied flat, a second copy of every byte the journal writes (~1.3 KB of
 * garbage a task on file storage). Given `room` (at least {@link FRAME_ROOM_BYTES}), a payload
 * short enough to go unmeasured is framed in it: the frame is then a view of `room`, valid until
 * `room` is used again. The journal writes most frames at once (writeSync) and drops them: a
 * buffer three times the payload's size for each was most of its garbage outside the V8 heap,
 * counted against the heap's external-memory limit (which brings the next full collection closer).
 */
export function frameItems(first: string, items: readonly string[], room?: Buffer): Buffer {
  let units = first.length + 2
  for (let i = 0; i < items.length; i++) units += items[i]!.length + 1
  let out: Buffer
  if (units <= UNMEASURED_UNITS) out = room ?? Buffer.allocUnsafe(HEADER_BYTES + 3 * units)
  else {
    let bytes = Buffer.byteLength(first, 'utf8') + 2
    for (let i = 0; i < items.length; i++) bytes += Buffer.byteLength(items[i]!, 'utf8') + 1
    out = Buffer.allocUnsafe(HEADER_BYTES + bytes)
  }
  out[HEADER_BYTES] = OPEN
  let at = HEADER_BYTES + 1
  at += out.write(first, at, 'utf8')
  for (let i = 0; i < items.length; i++) {
    out[at++] = COMMA
    at += out.write(items[i]!, at, 'utf8')
  }
  out[at++] = CLOSE
  return seal(out, at - HEADER_BYTES)
}

/** The frame of the `length` payload bytes after the header room at the start of `out`: its header filled in. */
function seal(out: Buffer, length: number): Buffer {
  const framed = out.subarray(0, HEADER_BYTES + length)
  framed.writeUInt32LE(length, 0)
  framed.writeUInt32LE(crc32(framed.subarray(HEADER_BYTES)), 4)
  framed.writeUInt32LE(crc32(framed.subarray(0, 8)), 8)
  return framed
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

/**
 * How many bytes of a big array payload {@link parseArrayPayload} parses at a time: a string up
 * to this size is an ordinary young V8 string, in pages the heap reuses. A whole frame's string
 * (a journal flush is ~1.5 MiB) is not: Node makes a latin1 string over ~1 MB external (malloc'd)
 * and V8 puts one over 128 KiB in a large-object page of its own, so every frame's text landed in
 * fresh memory the kernel faulted in page by page (NOTES.md, "Recovery time, open6").
 */
const PIECE_BYTES = 64 * 1024

/**
 * A frame's payload that is a JSON array, parsed: the same elements as `JSON.parse` of the whole,
 * or undefined when the payload is not JSON (or not an array).
 *
 * A big payload is parsed in pieces of about {@link PIECE_BYTES}, cut at the comma before an
 * occurrence of `boundary` (bytes an element starts with, beginning with that comma: a journal's
 * bare record, `,{"id":"`). A piece is parsed with its first byte (the array's `[`, or the comma
 * it is cut at) read as `[` and its last (the next cut's comma, or the array's `]`) as `]`: the
 * payload's bytes are swapped for the parse and put back. If every piece parses, the cuts were
 * commas between the array's own elements (JSON has one parse, and the pieces' element lists
 * joined by those commas are the whole array), so the elements are the whole's. A piece that
 * fails to parse was cut inside an element (a nested object that starts the same way, or a
 * string): the rest of the payload is then parsed as one piece, which fails only if the whole does.
 * Without a `boundary` the payload is parsed whole.
 */
export function parseArrayPayload(payload: Buffer, boundary: Buffer | undefined): unknown[] | undefined {
  const last = payload.length - 1
  if (boundary === undefined || payload.length < 2 * PIECE_BYTES || payload[0] !== OPEN || payload[last] !== CLOSE) {
    const whole = parsePayload<unknown>(payload)
    return Array.isArray(whole) ? whole : undefined
  }
  const encoding = isAscii(payload) ? 'latin1' : 'utf8'
  const pieces: unknown[][] = []
  for (let start = 0; ; ) {
    const cut = start + PIECE_BYTES < last ? payload.indexOf(boundary, start + PIECE_BYTES) : -1
    let end = cut === -1 ? last : cut
    let piece = parsePiece(payload, start, end, encoding)
    if (piece === undefined && end !== last) piece = parsePiece(payload, start, (end = last), encoding)
    if (piece === undefined) return undefined
    pieces.push(piece)
    if (end === last) break
    start = end
  }
  return pieces.length === 1 ? pieces[0] : ([] as unknown[]).concat(...pieces)
}

/**
 * The elements of `payload[start, end]` read as `[...]` (see {@link parseArrayPayload}); undefined
 * when that is no JSON array, or an empty one short of the whole payload (`[,` or `,,` or `,]`
 * there, which the whole does not parse with).
 */
function parsePiece(payload: Buffer, start: number, end: number, encoding: 'latin1' | 'utf8'): unknown[] | undefined {
  const opening = payload[start]!
  const closing = payload[end]!
  payload[start] = OPEN
  payload[end] = CLOSE
  try {
    const piece: unknown = JSON.parse(payload.toString(encoding, start, end + 1))
    return Array.isArray(piece) && (piece.length > 0 || (start === 0 && end === payload.length - 1)) ? piece : undefined
  } catch {
    return undefined
  } finally {
    payload[start] = opening
    payload[end] = closing
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
