/**
 * Reads a file of frames one frame at a time through a bounded buffer, so a file larger than
 * any Buffer or string (a snapshot of a big state) is never held whole. The buffer grows only
 * to the largest frame.
 */
import { crc32 } from 'node:zlib'
import { HEADER_BYTES, frameAt } from './frame.js'
import type { FoundFrame } from './frame.js'

/** The one read primitive the reader needs: `readSync`'s shape, returning the bytes read (0 at the end). */
export type ReadAt = (buffer: Buffer, offset: number, length: number, position: number) => number

export class FrameReader {
  readonly #read: ReadAt
  #buffer: Buffer
  /** The unread bytes are `#buffer[#start, #end)`; `#start` is at file offset `#offset`. */
  #start = 0
  #end = 0
  #offset = 0
  #eof = false

  /** `bufferBytes`: how much is read at a time (the buffer grows past it only for a bigger frame). */
  constructor(read: ReadAt, bufferBytes = 1024 * 1024) {
    this.#read = read
    this.#buffer = Buffer.allocUnsafe(bufferBytes)
  }

  /** The file offset of the next frame (after the last one returned). */
  get offset(): number {
    return this.#offset
  }

  /** Whether every byte of the file has been returned in frames. */
  atEnd(): boolean {
    this.#fill(1)
    return this.#end === this.#start
  }

  /**
   * The next whole, intact frame, or undefined if the bytes at `offset` are not one (damage or
   * a cut). Its payload is valid until the next call (the buffer is reused).
   */
  next(): FoundFrame | undefined {
    this.#fill(HEADER_BYTES)
    let found = frameAt(this.#buffer.subarray(this.#start, this.#end), 0)
    if (found === undefined && this.#headerIntact()) {
      // Only the payload is missing from the buffer: read up to the length the header claims.
      this.#fill(HEADER_BYTES + this.#buffer.readUInt32LE(this.#start))
      found = frameAt(this.#buffer.subarray(this.#start, this.#end), 0)
    }
    if (found === undefined) return undefined
    const at = this.#offset
    this.#start += found.end
    this.#offset += found.end
    return { offset: at, end: this.#offset, payload: found.payload }
  }

  /** Whether a whole frame header is buffered and its own checksum holds (so its length can be trusted). */
  #headerIntact(): boolean {
    if (this.#end - this.#start < HEADER_BYTES) return false
    return crc32(this.#buffer.subarray(this.#start, this.#start + 8)) === this.#buffer.readUInt32LE(this.#start + 8)
  }

  /** Makes at least `bytes` unread bytes available, unless the file ends first. */
  #fill(bytes: number): void {
    if (this.#end - this.#start >= bytes || this.#eof) return
    const unread = this.#end - this.#start
    if (bytes > this.#buffer.length) {
      const bigger = Buffer.allocUnsafe(Math.max(bytes, this.#buffer.length * 2))
      this.#buffer.copy(bigger, 0, this.#start, this.#end)
      this.#buffer = bigger
    } else {
      this.#buffer.copy(this.#buffer, 0, this.#start, this.#end)
    }
    this.#start = 0
    this.#end = unread
    while (this.#end < bytes) {
      const read = this.#read(this.#buffer, this.#end, this.#buffer.length - this.#end, this.#offset + this.#end)
      if (read === 0) {
        this.#eof = true
        return
      }
      this.#end += read
    }
  }
}
