/**
 * A big frame's JSON array parsed in pieces (frame.ts, parseArrayPayload): the same elements as
 * `JSON.parse` of the whole, or undefined exactly when that throws, wherever the cuts fall.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { parseArrayPayload } from '../../src/storage/file/frame.js'

const BARE = Buffer.from(',{"id":"')

/** What `JSON.parse` of the whole payload gives: its elements when it is an array, else undefined. */
function whole(payload: Buffer): unknown[] | undefined {
  try {
    const parsed: unknown = JSON.parse(payload.toString('utf8'))
    return Array.isArray(parsed) ? parsed : undefined
  } catch {
    return undefined
  }
}

/** A journal frame's payload: a synced mark, a namespace, then `n` bare records made by `record`. */
function payloadOf(n: number, record: (i: number) => unknown): Buffer {
  const items: unknown[] = [123, 'messages']
  for (let i = 0; i < n; i++) items.push(record(i))
  return Buffer.from(JSON.stringify(items))
}

const message = (i: number): unknown => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  task: 'bench.add',
  args: { $: 'a', v: [i, i] },
  queue: 'default',
  priority: 0,
  eta: null,
  seq: i,
})

afterEach(() => {
  vi.restoreAllMocks()
})

describe('a frame parsed in pieces', () => {
  it('gives the elements JSON.parse of the whole does, from several parses of small strings, and leaves the bytes as they were', () => {
    const payload = payloadOf(5_000, message)
    expect(payload.length).toBeGreaterThan(600_000)
    const copy = Buffer.from(payload)
    const parse = vi.spyOn(JSON, 'parse')
    const items = parseArrayPayload(payload, BARE)
    const pieces = parse.mock.calls.map(([text]) => (text as string).length)
    parse.mockRestore()
    expect(items).toEqual(whole(copy))
    expect(pieces.length).toBeGreaterThan(5)
    // Each piece is small enough to be an ordinary young string (not a large object or an external one).
    expect(Math.max(...pieces)).toBeLessThan(128 * 1024)
    expect(payload.equals(copy)).toBe(true)
  })

  it('is the same when the boundary also starts elements nested in records, or sits in strings', () => {
    const nested = (i: number): unknown => ({
      id: `r${i}`,
      // `,{"id":"` inside an array of a record: a cut there falls inside an element.
      args: [{ id: `a${i}` }, { id: `b${i}`, text: 'x'.repeat(i % 50) }],
      // The boundary's characters in strings are escaped ('"' as \"), so never match as they are.
      note: `,{"id":"${i}"} ] [ , { } \\`,
    })
    for (const record of [nested, (i: number) => (i % 97 === 0 ? nested(i) : message(i))]) {
      const payload = payloadOf(4_000, record)
      const copy = Buffer.from(payload)
      expect(parseArrayPayload(payload, BARE)).toEqual(whole(copy))
      expect(payload.equals(copy)).toBe(true)
    }
  })

  it('reads a payload that is not ASCII in pieces too (cut at ASCII bytes, never inside a character)', () => {
    const payload = payloadOf(3_000, (i) => ({ id: `é${i}`, text: 'naïve ✓ Zoë'.repeat(1 + (i % 5)) }))
    expect(payload.length).toBeGreaterThan(200_000)
    expect(parseArrayPayload(payload, BARE)).toEqual(whole(payload))
  })

  it('is undefined exactly when JSON.parse of the whole throws: a byte changed anywhere, near the cuts above all', () => {
    const payload = payloadOf(2_500, message)
    // Where the pieces of the intact payload start and end (each piece's first and last bytes).
    const parse = vi.spyOn(JSON, 'parse')
    parseArrayPayload(payload, BARE)
    const lengths = parse.mock.calls.map(([text]) => (text as string).length)
    parse.mockRestore()
    expect(lengths.length).toBeGreaterThan(2)
    const positions = new Set<number>([payload.length - 2])
    for (let i = 0, start = 0; i < lengths.length; start += lengths[i]! - 1, i++) for (let d = -8; d <= 8; d++) positions.add(start + d)
    for (let at = 0; at < payload.length; at += 30_011) positions.add(at)
    let failing = 0
    for (const at of positions) {
      if (at < 0 || at >= payload.length) continue
      // , ] and ": an empty element, a closed array, a string opened or closed.
      for (const byte of [0x2c, 0x5d, 0x22]) {
        if (payload[at] === byte) continue
        const damaged = Buffer.from(payload)
        damaged[at] = byte
        const expected = whole(damaged)
        if (expected === undefined) failing++
        expect(parseArrayPayload(damaged, BARE), `byte ${byte} at ${at}`).toEqual(expected)
      }
    }
    expect(failing).toBeGreaterThan(50)
  })

  it('refuses an empty element where a cut would leave an empty piece, and a trailing comma', () => {
    const record = JSON.stringify(message(1))
    const filler = ' '.repeat(200_000)
    for (const text of [`[${filler},{"id":"x"}]`, `[1,${record}${filler},${record},]`, `[1,${record},,{"id":"y"}${filler}]`]) {
      expect(whole(Buffer.from(text))).toBeUndefined()
      expect(parseArrayPayload(Buffer.from(text), BARE)).toBeUndefined()
    }
  })

  it('is undefined for a payload that is no array, big or small', () => {
    expect(parseArrayPayload(Buffer.from('{"a":1}'), BARE)).toBeUndefined()
    expect(parseArrayPayload(Buffer.from(JSON.stringify({ records: Array.from({ length: 3_000 }, (_, i) => message(i)) })), BARE)).toBeUndefined()
    expect(parseArrayPayload(Buffer.from('[1,2]'), BARE)).toEqual([1, 2])
  })
})
