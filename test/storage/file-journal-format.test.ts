/** The journal as read back: its call encoding, journals written before tuple calls, frames bigger than the read buffer. */
import { appendFileSync, copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { StorageError } from '../../src/index.js'
import type { Storage } from '../../src/index.js'
import { frame } from '../../src/storage/file/frame.js'
import { journalHeader } from '../../src/storage/file/journal.js'
import { fileHarness, journalKeys } from './file-harness.js'

const { tempDir, opened, closeAll } = fileHarness()

/** A journal-0.log written by celeriac before tuple calls (each call an array of mutation objects), non-ASCII text included. */
const BEFORE_TUPLES = new URL('./fixtures/journal-before-tuples.log', import.meta.url)
/** A version 2 journal-0.log (before bare records, d06c01d): one frame of three one-put calls, then a delete and a put. */
const VERSION_2 = new URL('./fixtures/journal-version-2.log', import.meta.url)

async function everything(s: Storage): Promise<Record<string, Array<[string, unknown]>>> {
  const out: Record<string, Array<[string, unknown]>> = {}
  for (const ns of ['messages', 'results', 'meta', 'locks'] as const) out[ns] = await s.entries(ns)
  return out
}

/** The state the fixture's calls leave. */
const FIXTURE_STATE = {
  messages: [['m1', { id: 'm1', task: 'mail.send', args: ['Zoë', 'naïve ✓'], priority: 3 }]],
  results: [['r1', { status: 'SUCCESS', result: [1, 2, 3] }]],
  meta: [['counter', 7]],
  locks: [['nothing', undefined]],
}

describe('journal call format', () => {
  it('a journal written before tuple calls opens with its state, takes new calls, and reopens with both', async () => {
    const dir = tempDir()
    copyFileSync(BEFORE_TUPLES, join(dir, 'journal-0.log'))
    const a = await opened({ dir })
    expect(await everything(a)).toEqual(FIXTURE_STATE)
    await a.write([
      { op: 'put', ns: 'messages', key: 'm3', value: { id: 'm3', note: 'après' } },
      { op: 'delete', ns: 'messages', key: 'm1' },
    ])
    await closeAll()
    // One journal, calls of both encodings in it.
    expect(journalKeys(join(dir, 'journal-0.log'))).toEqual([[['m1']], [['m2', 'counter']], [['m2']], [['r1', 'nothing']], [['m3', 'm1']]])
    const b = await opened({ dir })
    expect(await everything(b)).toEqual({ ...FIXTURE_STATE, messages: [['m3', { id: 'm3', note: 'après' }]] })
  })

  it('puts, deletes and a put of undefined replay as they were applied', async () => {
    const dir = tempDir()
    const a = await opened({ dir })
    await a.write([
      { op: 'put', ns: 'results', key: 'kept', value: { s: 'ünïcode', n: null, list: [1, 'two'] } },
      { op: 'put', ns: 'results', key: 'gone', value: 0 },
      { op: 'put', ns: 'locks', key: 'unset', value: undefined },
    ])
    await a.write([{ op: 'delete', ns: 'results', key: 'gone' }])
    const before = await everything(a)
    await closeAll()
    expect(readFileSync(join(dir, 'journal-0.log'), 'latin1')).toContain('[1,"results","kept",')
    const b = await opened({ dir })
    expect(await everything(b)).toEqual(before)
    expect(await b.entries('locks')).toEqual([['unset', undefined]])
  })

  it('a put whose plain value carries its key as id is written without the key, and replays under it', async () => {
    const dir = tempDir()
    const a = await opened({ dir })
    class Message {
      constructor(readonly id: string) {}
    }
    const hidden = Object.defineProperty({ n: 1 }, 'id', { value: 'hidden', enumerable: false })
    await a.write([
      { op: 'put', ns: 'messages', key: 'm1', value: { id: 'm1', task: 'mail.send', args: ['é'] } },
      { op: 'put', ns: 'messages', key: 'other', value: { id: 'not-the-key' } },
      { op: 'put', ns: 'results', key: 'instance', value: new Message('instance') },
      { op: 'put', ns: 'results', key: 'hidden', value: hidden },
      { op: 'put', ns: 'results', key: 'dated', value: { id: 'dated', toJSON: () => 'when' } },
      { op: 'put', ns: 'results', key: 'numbered', value: { id: 7 } },
    ])
    await a.write([{ op: 'put', ns: 'messages', key: 'm1', value: { id: 'm1', task: 'mail.send', args: ['again'] } }])
    await closeAll()
    const text = readFileSync(join(dir, 'journal-0.log'), 'latin1')
    expect(text).toContain('[3,"messages",{"id":"m1",')
    expect(text).not.toContain('"m1",{')
    // Any value JSON could write without that id keeps its key in the tuple.
    for (const key of ['other', 'instance', 'hidden', 'dated', 'numbered']) expect(text).toContain(`"${key}",`)
    expect(journalKeys(join(dir, 'journal-0.log'))).toEqual([[['m1', 'other', 'instance', 'hidden', 'dated', 'numbered']], [['m1']]])
    const b = await opened({ dir })
    expect(await b.entries('messages')).toEqual([
      ['m1', { id: 'm1', task: 'mail.send', args: ['again'] }],
      ['other', { id: 'not-the-key' }],
    ])
    expect(await b.entries('results')).toEqual([
      ['instance', { id: 'instance' }],
      ['hidden', { n: 1 }],
      ['dated', 'when'],
      ['numbered', { id: 7 }],
    ])
  })

  it('a call of one put keyed by id is written bare, its namespace named once per run of them, and replays', async () => {
    const dir = tempDir()
    const a = await opened({ dir })
    const message = (id: string): { id: string; task: string } => ({ id, task: 'mail.send' })
    await Promise.all([
      a.write([{ op: 'put', ns: 'messages', key: 'm1', value: message('m1') }]),
      a.write([{ op: 'put', ns: 'messages', key: 'm2', value: message('m2') }]),
      a.write([{ op: 'put', ns: 'results', key: 'r1', value: { id: 'r1', state: 'PENDING' } }]),
      a.write([{ op: 'put', ns: 'results', key: 'plain', value: 1 }]),
      a.write([{ op: 'put', ns: 'messages', key: 'm3', value: message('m3') }]),
      a.write([
        { op: 'put', ns: 'messages', key: 'm4', value: message('m4') },
        { op: 'delete', ns: 'messages', key: 'm2' },
      ]),
    ])
    const before = await everything(a)
    await closeAll()
    const path = join(dir, 'journal-0.log')
    const text = readFileSync(path, 'latin1')
    expect(text).toContain('{"kind":"journal","version":4,')
    expect(text).toContain(
      ',"messages",{"id":"m1","task":"mail.send"},{"id":"m2","task":"mail.send"},"results",{"id":"r1","state":"PENDING"},[1,"results","plain",1],"messages",{"id":"m3",',
    )
    expect(text).toContain('[3,"messages",{"id":"m4","task":"mail.send"},0,"messages","m2"]')
    // Every call keeps its place in its frame.
    expect(journalKeys(path)).toEqual([[['m1'], ['m2'], ['r1'], ['plain'], ['m3'], ['m4', 'm2']]])
    const b = await opened({ dir })
    expect(await everything(b)).toEqual(before)
  })

  it('bare records after a call between them stay in the namespace last named (it is not named again)', async () => {
    const dir = tempDir()
    const a = await opened({ dir })
    await Promise.all([
      a.write([{ op: 'put', ns: 'messages', key: 'm1', value: { id: 'm1' } }]),
      a.write([{ op: 'put', ns: 'results', key: 'plain', value: 1 }]),
      a.write([{ op: 'put', ns: 'messages', key: 'm2', value: { id: 'm2' } }]),
      a.write([{ op: 'delete', ns: 'messages', key: 'm1' }]),
      a.write([{ op: 'put', ns: 'messages', key: 'm1', value: { id: 'm1', again: true } }]),
    ])
    const before = await everything(a)
    await closeAll()
    const text = readFileSync(join(dir, 'journal-0.log'), 'latin1')
    expect(text).toContain(',"messages",{"id":"m1"},[1,"results","plain",1],{"id":"m2"},[0,"messages","m1"],{"id":"m1","again":true}]')
    const b = await opened({ dir })
    expect(await everything(b)).toEqual(before)
    expect(before.messages).toEqual([
      ['m2', { id: 'm2' }],
      ['m1', { id: 'm1', again: true }],
    ])
  })

  it('a version 2 journal opens, and is appended to without bare records, so the celeriac before them still reads it', async () => {
    const dir = tempDir()
    const path = join(dir, 'journal-0.log')
    copyFileSync(VERSION_2, path)
    const a = await opened({ dir })
    const state = {
      messages: [['m2', { id: 'm2', task: 'mail.send', args: [], seq: 2 }]],
      results: [['r1', { id: 'r1', state: 'PENDING' }]],
      meta: [['counter', 7]],
      locks: [],
    }
    expect(await everything(a)).toEqual(state)
    await a.write([{ op: 'put', ns: 'messages', key: 'm5', value: { id: 'm5' } }])
    await closeAll()
    const text = readFileSync(path, 'latin1')
    expect(text).toContain('{"kind":"journal","version":2,')
    expect(text).toContain('[3,"messages",{"id":"m5"}]')
    expect(journalKeys(path)).toEqual([[['m1'], ['m2'], ['r1']], [['m1', 'counter']], [['m5']]])
    const b = await opened({ dir })
    expect(await everything(b)).toEqual({ ...state, messages: [...state.messages, ['m5', { id: 'm5' }]] })
  })

  it('a bare record before any namespace, a namespace no store has, or a bare record in a version 2 journal is damage', async () => {
    const header = (version: number): Buffer => frame(Buffer.from(JSON.stringify({ kind: 'journal', version, generation: 0 })))
    const items = (...list: unknown[]): Buffer => frame(Buffer.from(JSON.stringify([0, ...list])))
    for (const [version, damaged] of [
      [3, items({ id: 'unnamed' })],
      [3, items('nowhere', { id: 'x' })],
      [3, items('results', { id: 7 })],
      [3, items('results', null)],
      [2, items('results', { id: 'x' })],
    ] as const) {
      const dir = tempDir()
      const path = join(dir, 'journal-0.log')
      const intact = version === 3 ? items('results', { id: 'before' }) : items([3, 'results', { id: 'before' }])
      writeFileSync(path, Buffer.concat([header(version), intact, damaged]))
      const error = await opened({ dir }).then(
        () => undefined,
        (e: unknown) => e as StorageError,
      )
      expect(error).toBeInstanceOf(StorageError)
      expect(error?.offset).toBe(header(version).length + intact.length)
    }
  })

  it('a put keyed by an id its value does not hold refuses the open', async () => {
    const dir = tempDir()
    const call = Buffer.from(JSON.stringify([[3, 'messages', { id: 7 }]]))
    writeFileSync(join(dir, 'journal-0.log'), Buffer.concat([journalHeader(0), frame(call)]))
    await expect(opened({ dir })).rejects.toThrow(/keyed by its value's id holds no string id/)
  })

  it('a call with an operation this version does not know refuses the open', async () => {
    const dir = tempDir()
    const call = Buffer.from(JSON.stringify([[9, 'results', 'k']]))
    writeFileSync(join(dir, 'journal-0.log'), Buffer.concat([journalHeader(0), frame(call)]))
    await expect(opened({ dir })).rejects.toThrow(StorageError)
    await expect(opened({ dir })).rejects.toThrow(/unknown operation 9/)
  })

  it('a frame of thousands of bare records (parsed in pieces) replays; one that breaks past its first piece is damage and applies nothing', async () => {
    const header = frame(Buffer.from(JSON.stringify({ kind: 'journal', version: 3, generation: 0 })))
    const records = (from: number, n: number): Array<{ id: string; args: unknown[] }> =>
      Array.from({ length: n }, (_, i) => ({ id: `m${from + i}`, args: [{ id: `nested${from + i}` }, 'x'.repeat((from + i) % 40)] }))
    const first = frame(Buffer.from(JSON.stringify([0, 'messages', ...records(0, 3_000), 'results', { id: 'r1' }])))
    const second = Buffer.from(JSON.stringify([first.length, 'messages', ...records(3_000, 3_000)]))
    expect(second.length).toBeGreaterThan(128 * 1024)
    const dir = tempDir()
    const path = join(dir, 'journal-0.log')
    writeFileSync(path, Buffer.concat([header, first, frame(second)]))
    const a = await opened({ dir })
    expect((await a.entries('messages')).length).toBe(6_000)
    expect(await a.get('messages', 'm5999')).toEqual(records(5_999, 1)[0])
    expect(await a.get('results', 'r1')).toEqual({ id: 'r1' })
    await closeAll()
    // A checksum-valid frame whose JSON breaks in its last quarter: damage at the frame, none of its records applied.
    const broken = Buffer.from(second)
    broken[Math.floor(broken.length * 0.8)] = 0x5d
    writeFileSync(path, Buffer.concat([header, first, frame(broken), frame(Buffer.from('[0,"results",{"id":"after"}]'))]))
    const error = await opened({ dir }).then(
      () => undefined,
      (e: unknown) => e as StorageError,
    )
    expect(error).toBeInstanceOf(StorageError)
    expect(error?.offset).toBe(header.length + first.length)
    const repaired = await opened({ dir, repair: true })
    expect((await repaired.entries('messages')).length).toBe(3_000)
  })

  /** A new store's directory holding a journal of `version` with one frame of `items` (big enough to be parsed in pieces). */
  function journalOfOneBigFrame(version: number, items: unknown[]): string {
    const header = frame(Buffer.from(JSON.stringify({ kind: 'journal', version, generation: 0 })))
    const payload = Buffer.from(JSON.stringify(items))
    expect(payload.length).toBeGreaterThan(128 * 1024)
    const dir = tempDir()
    writeFileSync(join(dir, 'journal-0.log'), Buffer.concat([header, frame(payload)]))
    return dir
  }

  it("a version 2 journal's big frame of tuple calls replays (read whole: it holds no bare records)", async () => {
    const calls = Array.from({ length: 3_000 }, (_, i) => [3, 'messages', { id: `m${i}`, text: 'y'.repeat(i % 30) }])
    const a = await opened({ dir: journalOfOneBigFrame(2, [0, ...calls, [1, 'results', 'k', { id: 'not k' }]]) })
    expect((await a.entries('messages')).length).toBe(3_000)
    expect(await a.get('messages', 'm2999')).toEqual({ id: 'm2999', text: 'y'.repeat(29) })
    expect(await a.get('results', 'k')).toEqual({ id: 'not k' })
  })

  it('a version 3 frame of one big call of puts keyed by id (the engine sends a tick so; every cut falls inside the call) replays', async () => {
    const call = Array.from({ length: 3_000 }, (_, i) => [3, 'messages', { id: `m${i}`, text: 'z'.repeat(i % 30) }]).flat()
    const a = await opened({ dir: journalOfOneBigFrame(3, [0, call, 'results', { id: 'r1' }]) })
    expect((await a.entries('messages')).length).toBe(3_000)
    expect(await a.get('messages', 'm2999')).toEqual({ id: 'm2999', text: 'z'.repeat(29) })
    expect(await a.get('results', 'r1')).toEqual({ id: 'r1' })
  })

  it('frames bigger than the 1 MiB read buffer replay, and a torn tail after them is cut off', async () => {
    const dir = tempDir()
    const big = 'é'.repeat(1_500_000)
    const a = await opened({ dir })
    await a.write([{ op: 'put', ns: 'results', key: 'big', value: big }])
    await Promise.all(Array.from({ length: 3_000 }, (_, i) => a.write([{ op: 'put', ns: 'results', key: `k${i}`, value: 'x'.repeat(500) }])))
    await a.write([{ op: 'put', ns: 'results', key: 'last', value: 1 }])
    await closeAll()
    const path = join(dir, 'journal-0.log')
    const intact = statSync(path).size
    appendFileSync(path, frame(Buffer.from('[[1,"results","torn",2]]')).subarray(0, 20))
    const warnings: string[] = []
    const b = await opened({ dir, onWarning: (w) => warnings.push(w) })
    expect(await b.get('results', 'big')).toBe(big)
    expect((await b.entries('results')).length).toBe(3_002)
    expect(await b.get('results', 'last')).toBe(1)
    expect(warnings.join()).toContain(`torn tail of 20 bytes at offset ${intact}`)
    expect(statSync(path).size).toBe(intact)
  })
})
