/**
 * File storage snapshots: written in frames of bounded size, in the background while calls go on,
 * as of the instant the compaction started; read back frame by frame; the previous one-frame
 * format still opens.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { StorageError } from '../../src/index.js'
import type { Mutation, Storage } from '../../src/index.js'
import { fileStorage } from '../../src/node.js'
import { frame, frameAt } from '../../src/storage/file/frame.js'
import { FrameReader } from '../../src/storage/file/frame-reader.js'
import { FrozenRecords } from '../../src/storage/file/frozen-records.js'
import { Records } from '../../src/storage/records.js'
import { compactionOf, fileHarness, frameOffsets, put } from './file-harness.js'

const { tempDir, opened, closeAll } = fileHarness()

interface SnapshotFrame {
  bytes: number
  payload: { kind: string; records?: unknown; generation?: number; version?: number; ns?: string }
}

function snapshotFrames(dir: string): SnapshotFrame[] {
  const path = join(dir, 'snapshot')
  const bytes = readFileSync(path)
  return frameOffsets(path).map((at) => {
    const { payload } = frameAt(bytes, at)!
    return { bytes: payload.length, payload: JSON.parse(payload.toString('utf8')) as SnapshotFrame['payload'] }
  })
}

/** `n` records of about 200 bytes of JSON each: in one call, a journal frame past `compactBytes` below. */
const bigState = (n: number): Mutation[] => Array.from({ length: n }, (_, i) => put(`k${i}`, { i, pad: 'p'.repeat(150) }))
const sorted = async (s: Storage): Promise<Array<[string, unknown]>> => (await s.entries('results')).sort(([a], [b]) => a.localeCompare(b))

describe('file storage snapshots', () => {
  it('a state bigger than the chunk bound is written as many frames, none over the bound but a lone big record, and reopens intact', async () => {
    const dir = tempDir()
    const s = await opened({ dir, compactBytes: 16_384, snapshotChunkBytes: 1_024 })
    const big = 'x'.repeat(5_000)
    await s.write([...bigState(200), put('big', big), { op: 'put', ns: 'locks', key: 'l', value: { owner: 'me' } }])
    await compactionOf(s)
    const frames = snapshotFrames(dir)
    expect(frames[0]!.payload).toEqual({ kind: 'snapshot', version: 3, generation: 1 })
    expect(frames.at(-1)!.payload).toEqual({ kind: 'end', records: 202 })
    const records = frames.slice(1, -1)
    expect(records.length).toBeGreaterThan(30)
    for (const f of records) {
      expect(f.payload.kind).toBe('records')
      // Only a record bigger than the bound by itself gets a bigger frame, of its own.
      if (f.bytes > 1_024) expect(f.payload.records).toEqual([['big', big]])
    }
    expect(records.filter((f) => f.bytes > 1_024)).toHaveLength(1)
    expect(records.map((f) => f.payload.ns)).toContain('locks')
    const before = await sorted(s)
    await closeAll()
    const again = await opened({ dir })
    expect(await sorted(again)).toEqual(before)
    expect(await again.get('locks', 'l')).toEqual({ owner: 'me' })
  })

  it('the bound is in UTF-8 bytes: records of multi-byte characters fill frames up to it, never over', async () => {
    const dir = tempDir()
    const s = await opened({ dir, compactBytes: 8_192, snapshotChunkBytes: 1_000 })
    await s.write(Array.from({ length: 60 }, (_, i) => put(`ü${i}`, { text: 'é€😀'.repeat(i % 40) })))
    await compactionOf(s)
    const records = snapshotFrames(dir).slice(1, -1)
    expect(Math.max(...records.map((f) => f.bytes))).toBeLessThanOrEqual(1_000)
    // Full frames, not one record each: the byte count is exact, not a worst case.
    expect(Math.max(...records.map((f) => f.bytes))).toBeGreaterThan(900)
    const before = await sorted(s)
    await closeAll()
    expect(await sorted(await opened({ dir }))).toEqual(before)
  })

  it('calls made while the snapshot is written go to the new journal and survive a reopen; the snapshot holds the state of its start; the event loop turns between chunks', async () => {
    const dir = tempDir()
    const s = await opened({ dir, compactBytes: 16_384, snapshotChunkBytes: 512 })
    await s.write(bigState(200))
    const running = compactionOf(s)
    expect(running, 'the compaction runs in the background').toBeDefined()
    let turns = 0
    let counting = true
    const tick = (): void => {
      if (!counting) return
      turns++
      setImmediate(tick)
    }
    setImmediate(tick)
    // Made in the same tick the compaction started in: all of them while it runs.
    const during = [
      s.write([put('k0', 'overwritten'), { op: 'delete', ns: 'results', key: 'k10' }, put('new', 1)]),
      s.write([{ op: 'delete', ns: 'results', key: 'k199' }, put('k5', 'a'), put('k5', 'b')]),
      s.transact([{ ns: 'results', key: 'new' }], ([n]) => ({ mutations: [put('new', (n as number) + 1)], result: n })),
    ]
    expect(await Promise.all(during)).toEqual([undefined, undefined, 1])
    await running
    counting = false
    const frames = snapshotFrames(dir)
    expect(turns, `${frames.length} frames`).toBeGreaterThanOrEqual(frames.length / 4)
    // The snapshot is the state as of the compaction's start: the calls above are in the journal only.
    const snapshot = new Map(frames.flatMap((f) => (f.payload.kind === 'records' ? (f.payload.records as Array<[string, unknown]>) : [])))
    expect(new Map([...snapshot].sort(([a], [b]) => a.localeCompare(b)))).toEqual(
      new Map(
        bigState(200)
          .map((m) => [m.key, (m as { value: unknown }).value] as [string, unknown])
          .sort(([a], [b]) => a.localeCompare(b)),
      ),
    )
    const expected = await sorted(s)
    expect(expected.find(([k]) => k === 'k0')?.[1]).toBe('overwritten')
    expect(expected.find(([k]) => k === 'new')?.[1]).toBe(2)
    await closeAll()
    const again = await opened({ dir })
    expect(await sorted(again)).toEqual(expected)
  })

  it('close stops a compaction under way: no temp snapshot is left, and the two journals reopen to every call', async () => {
    const dir = tempDir()
    const s = await opened({ dir, compactBytes: 16_384, snapshotChunkBytes: 512 })
    await s.write(bigState(200))
    expect(compactionOf(s)).toBeDefined()
    void s.write([put('k1', 'late')])
    const expected = await sorted(s)
    await closeAll()
    expect(readdirSync(dir).sort()).toEqual(['journal-0.log', 'journal-1.log'])
    const again = await opened({ dir, compactBytes: 16_384 })
    expect(await sorted(again)).toEqual(expected)
    // The next compaction folds both journals into one snapshot.
    await again.write(bigState(100))
    await compactionOf(again)
    expect(readdirSync(dir).sort()).toEqual(['LOCK', 'journal-2.log', 'snapshot'])
  })

  it('a compaction that fails warns and loses nothing: calls go on, and the next one folds every journal into its snapshot', async () => {
    const dir = tempDir()
    const warnings: string[] = []
    const s = await opened({ dir, compactBytes: 16_384, snapshotChunkBytes: 1_024, onWarning: (w) => warnings.push(w) })
    // The temp snapshot cannot be created where a directory stands.
    mkdirSync(join(dir, 'snapshot.tmp'))
    await s.write(bigState(100))
    await compactionOf(s)
    expect(warnings).toEqual([expect.stringMatching(/^compacting .* failed: .*EISDIR.*Nothing is lost/)])
    await s.write([put('after', 1)])
    rmdirSync(join(dir, 'snapshot.tmp'))
    await s.write(bigState(100).map((m) => ({ ...m, key: `${m.key}b` })))
    await compactionOf(s)
    expect(readdirSync(dir).sort()).toEqual(['LOCK', 'journal-2.log', 'snapshot'])
    const expected = await sorted(s)
    expect(expected).toHaveLength(201)
    await closeAll()
    expect(await sorted(await opened({ dir }))).toEqual(expected)
  })

  it('a directory written by the previous format (a one-frame snapshot) still opens, and compacts into the new one', async () => {
    const dir = tempDir()
    const json = (value: unknown): Buffer => frame(Buffer.from(JSON.stringify(value), 'utf8'))
    const data = {
      results: [
        ['a', 1],
        ['b', { x: 2 }],
      ],
      locks: [['l', 'held']],
    }
    writeFileSync(join(dir, 'snapshot'), json({ kind: 'snapshot', version: 1, generation: 3, data }))
    const calls = [[put('c', 3)], [{ op: 'delete', ns: 'results', key: 'a' }]]
    writeFileSync(join(dir, 'journal-3.log'), Buffer.concat([json({ kind: 'journal', version: 1, generation: 3 }), json(calls)]))
    writeFileSync(join(dir, 'journal-2.log'), json({ kind: 'journal', version: 1, generation: 2 }))
    const s = await opened({ dir, compactBytes: 16_384 })
    expect(await sorted(s)).toEqual([
      ['b', { x: 2 }],
      ['c', 3],
    ])
    expect(await s.get('locks', 'l')).toBe('held')
    expect(existsSync(join(dir, 'journal-2.log'))).toBe(false)
    await s.write(bigState(100))
    await compactionOf(s)
    expect(snapshotFrames(dir)[0]!.payload).toEqual({ kind: 'snapshot', version: 3, generation: 4 })
    const expected = await sorted(s)
    await closeAll()
    const again = await opened({ dir })
    expect(await sorted(again)).toEqual(expected)
    expect(await again.get('locks', 'l')).toBe('held')
  })

  it('a record whose plain value carries its key as id is written as the value alone, and reads back under it', async () => {
    const dir = tempDir()
    const s = await opened({ dir, compactBytes: 16_384, snapshotChunkBytes: 4_096 })
    const messages: Mutation[] = Array.from({ length: 100 }, (_, i) => ({
      op: 'put',
      ns: 'messages',
      key: `m${i}`,
      value: { id: `m${i}`, task: 'mail.send', pad: 'p'.repeat(150) },
    }))
    await s.write([...messages, put('other', { id: 'not-the-key' }), put('plain', 1)])
    await compactionOf(s)
    const records = snapshotFrames(dir)
      .slice(1, -1)
      .flatMap((f) => f.payload.records as unknown[])
    expect(records).toContainEqual({ id: 'm7', task: 'mail.send', pad: 'p'.repeat(150) })
    expect(records).toContainEqual(['other', { id: 'not-the-key' }])
    expect(records).toContainEqual(['plain', 1])
    expect(records).toHaveLength(102)
    const before = await s.entries('messages')
    await closeAll()
    const again = await opened({ dir })
    expect(await again.entries('messages')).toEqual(before)
    expect(await again.get('results', 'other')).toEqual({ id: 'not-the-key' })
  })

  it('a snapshot of the previous format (version 2: pairs only) still opens; a record that is no pair there, or has no string id in version 3, is damage', async () => {
    const json = (value: unknown): Buffer => frame(Buffer.from(JSON.stringify(value), 'utf8'))
    const write = (version: number, records: unknown[]): string => {
      const dir = tempDir()
      const frames = [
        json({ kind: 'snapshot', version, generation: 1 }),
        json({ kind: 'records', ns: 'messages', records }),
        json({ kind: 'end', records: records.length }),
      ]
      writeFileSync(join(dir, 'snapshot'), Buffer.concat(frames))
      writeFileSync(join(dir, 'journal-1.log'), json({ kind: 'journal', version: 2, generation: 1 }))
      return dir
    }
    const v2 = await opened({
      dir: write(2, [
        ['m1', { id: 'm1', n: 1 }],
        ['m2', 2],
      ]),
    })
    expect(await v2.entries('messages')).toEqual([
      ['m1', { id: 'm1', n: 1 }],
      ['m2', 2],
    ])
    await closeAll()
    const header = json({ kind: 'snapshot', version: 2, generation: 1 }).length
    await expect(fileStorage({ dir: write(2, [{ id: 'm1' }]) }).open()).rejects.toMatchObject({ offset: header })
    await expect(fileStorage({ dir: write(3, [{ id: 7 }]) }).open()).rejects.toMatchObject({ offset: header })
    await expect(fileStorage({ dir: write(4, []) }).open()).rejects.toThrow(/format version 4; this celeriac reads versions 1 to 3/)
  })

  it('a snapshot cut at a frame boundary, or damaged in a middle frame, is a StorageError naming the offset', async () => {
    const dir = tempDir()
    const s = await opened({ dir, compactBytes: 16_384, snapshotChunkBytes: 1_024 })
    await s.write(bigState(100))
    await compactionOf(s)
    await closeAll()
    const path = join(dir, 'snapshot')
    const whole = readFileSync(path)
    const offsets = frameOffsets(path)
    // Without its end frame the snapshot looks whole frame by frame: the missing end gives it away.
    truncateSync(path, offsets.at(-1)!)
    const error = await fileStorage({ dir })
      .open()
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).message).toMatch(new RegExp(`snapshot is damaged at byte offset ${offsets.at(-1)!}`))
    const flipped = Buffer.from(whole)
    flipped[offsets[3]! + 20]! ^= 1
    writeFileSync(path, flipped)
    await expect(fileStorage({ dir }).open()).rejects.toThrow(new RegExp(`snapshot is damaged at byte offset ${offsets[3]!}`))
  })
})

describe('FrozenRecords: the state of one instant, read while it changes', () => {
  it('yields the records as they were when it was made, whatever puts, deletes and re-adds happen during the walk', () => {
    const records = new Records()
    const initial: Mutation[] = [put('a', 1), put('b', 2), put('c', 3), put('d', 4), { op: 'put', ns: 'messages', key: 'm', value: 'queued' }]
    records.apply(initial)
    const frozen = new FrozenRecords(records)
    const change = (mutations: Mutation[]): void => {
      frozen.keep(mutations)
      records.apply(mutations)
    }
    const walk = frozen.walk()
    const seen: Array<readonly [string, string, unknown]> = []
    const take = (): void => {
      const next = walk.next()
      if (next.done !== true) seen.push(next.value)
    }
    // The walk goes namespace by namespace in NAMESPACES order: messages, then results.
    take()
    change([{ op: 'put', ns: 'messages', key: 'm', value: 'leased' }, put('a', 10), put('new', 0)])
    take()
    change([{ op: 'delete', ns: 'results', key: 'b' }, { op: 'delete', ns: 'results', key: 'c' }, put('c', 30), put('a', 100)])
    for (let i = 0; i < 20; i++) take()
    change([put('d', 40)])
    // Last one wins, as a reader loads them.
    const state = new Map(seen.map(([ns, key, value]) => [`${ns}/${key}`, value]))
    expect(state).toEqual(
      new Map<string, unknown>([
        ['messages/m', 'queued'],
        ['results/a', 1],
        ['results/b', 2],
        ['results/c', 3],
        ['results/d', 4],
      ]),
    )
    expect(records.entries('results').sort()).toEqual([
      ['a', 100],
      ['c', 30],
      ['d', 40],
      ['new', 0],
    ])
  })
})

describe('FrameReader: frames read through a small buffer', () => {
  const over = (file: Buffer, bufferBytes: number): FrameReader =>
    new FrameReader((buffer, offset, length, position) => file.copy(buffer, offset, position, Math.min(file.length, position + length)), bufferBytes)

  it('reads frames smaller and much bigger than its buffer, in order, then says the file is at its end', () => {
    const payloads = [1, 40, 3, 1_000, 0, 17, 5_000].map((n, i) => Buffer.alloc(n, 97 + i))
    const file = Buffer.concat(payloads.map((p) => frame(p)))
    const reader = over(file, 16)
    for (const p of payloads) {
      expect(reader.atEnd()).toBe(false)
      const at = reader.offset
      const found = reader.next()!
      expect(found.offset).toBe(at)
      expect(found.payload.equals(p)).toBe(true)
    }
    expect(reader.atEnd()).toBe(true)
    expect(reader.offset).toBe(file.length)
    expect(reader.next()).toBeUndefined()
  })

  it('a cut or damaged frame is undefined at its offset; a damaged length is never trusted to size the buffer', () => {
    const file = Buffer.concat([frame(Buffer.alloc(100, 1)), frame(Buffer.alloc(100, 2))])
    const cut = over(file.subarray(0, file.length - 1), 16)
    expect(cut.next()).toBeDefined()
    expect(cut.next()).toBeUndefined()
    expect(cut.offset).toBe(112)
    const damaged = Buffer.from(file)
    damaged.writeUInt32LE(0xfffffff0, 112)
    const reader = over(damaged, 16)
    reader.next()
    expect(reader.next()).toBeUndefined()
  })
})
