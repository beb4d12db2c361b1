/** File storage: journal, group commit, torn tails, corruption, compaction, ownership, modes. */
import { existsSync, readFileSync, readdirSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, StorageError } from '../../src/index.js'
import type { Storage } from '../../src/index.js'
import { fileStorage } from '../../src/node.js'
import { FRAME_ROOM_BYTES, HEADER_BYTES, frame, frameAt, frameItems, frameText, scanFrames } from '../../src/storage/file/frame.js'
import { storageContract } from './contract.js'
import { journalHeader } from '../../src/storage/file/journal.js'
import { compactionOf, fileHarness, frameOffsets, journalKeys, put } from './file-harness.js'

const { tempDir, opened, closeAll } = fileHarness()

const dirOf = new WeakMap<Storage, string>()
storageContract(
  'file',
  () => {
    const dir = tempDir()
    const storage = fileStorage({ dir, onWarning: () => {} })
    dirOf.set(storage, dir)
    return storage
  },
  { reopen: (storage) => fileStorage({ dir: dirOf.get(storage)!, onWarning: () => {} }) },
)
storageContract('file (durability: write)', () => fileStorage({ dir: tempDir(), durability: 'write' }))

describe('file storage', () => {
  it('a reopened storage sees every write that resolved, deletes included', async () => {
    const dir = tempDir()
    const a = await opened({ dir })
    await a.write([put('one', { n: 1 }), put('two', { n: 2 })])
    await a.write([
      { op: 'delete', ns: 'results', key: 'one' },
      { op: 'put', ns: 'meta', key: 'counter', value: 7 },
    ])
    await closeAll()
    const b = await opened({ dir })
    expect(await b.get('results', 'one')).toBeUndefined()
    expect(await b.get('results', 'two')).toEqual({ n: 2 })
    expect(await b.get('meta', 'counter')).toBe(7)
  })

  it('calls made in the same tick share one journal frame (group commit)', async () => {
    const dir = tempDir()
    const s = await opened({ dir })
    await Promise.all(Array.from({ length: 100 }, (_, i) => s.write([put(`k${i}`, i)])))
    // One frame for all hundred calls.
    expect(journalKeys(join(dir, 'journal-0.log'))).toEqual([Array.from({ length: 100 }, (_, i) => [`k${i}`])])
    await s.write([put('later', 1)])
    expect(journalKeys(join(dir, 'journal-0.log'))).toHaveLength(2)
  })

  it('transact is atomic under concurrent calls and durable when it resolves', async () => {
    const dir = tempDir()
    const s = await opened({ dir })
    const key = { ns: 'meta', key: 'n' } as const
    await Promise.all(
      Array.from({ length: 50 }, () =>
        s.transact([key], ([n]) => ({ mutations: [{ op: 'put', ns: 'meta', key: 'n', value: ((n as number | undefined) ?? 0) + 1 }], result: null })),
      ),
    )
    await closeAll()
    const again = await opened({ dir })
    expect(await again.get('meta', 'n')).toBe(50)
  })

  /** A closed journal whose last frame (at `lastStart`) puts 'last' and overwrites 'kept'. */
  async function journalWithLastFrame(): Promise<{ dir: string; path: string; lastStart: number; original: Buffer }> {
    const dir = tempDir()
    const s = await opened({ dir })
    await s.write([put('kept', 'yes')])
    await s.write([put('last', 'maybe'), put('kept', 'overwritten?')])
    await closeAll()
    const path = join(dir, 'journal-0.log')
    return { dir, path, lastStart: frameOffsets(path).at(-1)!, original: readFileSync(path) }
  }

  it('cutting the last frame at every byte offset loses only that frame, with a warning', async () => {
    const { dir, path, lastStart, original } = await journalWithLastFrame()
    for (let cut = lastStart; cut < original.length; cut++) {
      writeFileSync(path, original.subarray(0, cut))
      const warnings: string[] = []
      const storage = fileStorage({ dir, onWarning: (w) => warnings.push(w) })
      await storage.open()
      expect(await storage.get('results', 'kept')).toBe('yes')
      expect(await storage.get('results', 'last')).toBeUndefined()
      if (cut > lastStart) expect(warnings.join('\n')).toContain(`offset ${lastStart}`)
      // The tail is cut off on disk, so new writes land after intact data.
      await storage.write([put('after', cut)])
      await storage.close()
      const reopened = await opened({ dir })
      expect(await reopened.get('results', 'after')).toBe(cut)
      await closeAll()
    }
  })

  it('a last frame that is whole but fails its checksum is cut off as a torn tail, with a warning', async () => {
    const { dir, path, lastStart, original: bytes } = await journalWithLastFrame()
    // One payload byte of the last frame: its length and header checksum still hold.
    bytes[lastStart + HEADER_BYTES + 3] = bytes[lastStart + HEADER_BYTES + 3]! ^ 0x20
    writeFileSync(path, bytes)
    expect(frameAt(bytes, lastStart)).toBeUndefined()
    const warnings: string[] = []
    const again = await opened({ dir, onWarning: (w) => warnings.push(w) })
    expect(await again.get('results', 'kept')).toBe('yes')
    expect(await again.get('results', 'last')).toBeUndefined()
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(`torn tail of ${bytes.length - lastStart} bytes at offset ${lastStart}`)
    expect(statSync(path).size).toBe(lastStart)
    await again.write([put('after', 1)])
    await closeAll()
    expect(await (await opened({ dir })).get('results', 'after')).toBe(1)
  })

  it('a byte flipped mid-journal is a StorageError naming the file and offset, never skipped', async () => {
    const dir = tempDir()
    const s = await opened({ dir })
    for (let i = 0; i < 5; i++) await s.write([put(`k${i}`, 'x'.repeat(40))])
    await closeAll()
    const path = join(dir, 'journal-0.log')
    const offsets = frameOffsets(path)
    const original = readFileSync(path)
    // Damage the payload of the third frame, then its length field.
    for (const at of [offsets[2]! + HEADER_BYTES + 5, offsets[2]! + 1]) {
      const damaged = Buffer.from(original)
      damaged[at] = damaged[at]! ^ 0xff
      writeFileSync(path, damaged)
      const storage = fileStorage({ dir, onWarning: () => {} })
      const error = await storage.open().then(
        () => expect.unreachable('open should fail'),
        (e: unknown) => e as StorageError,
      )
      expect(error).toBeInstanceOf(StorageError)
      expect(error.code).toBe('STORAGE')
      expect(error.message).toContain(path)
      expect(error.message).toContain(`offset ${offsets[2]}`)
    }
    // The damage was reported, not repaired: the file is as it was left.
    expect(readFileSync(path).length).toBe(original.length)
  })

  it("a power cut's hole among the frames written during one fdatasync is a torn tail; damage the frames after it say was synced is refused", async () => {
    const header = journalHeader(0)
    // Frames as the storage writes them: [synced, ...calls], synced being the journal's length
    // the last completed fdatasync covered when the frame was made.
    const journalFrame = (synced: number, key: string): Buffer => frame(Buffer.from(JSON.stringify([synced, [put(key, key)]]), 'utf8'))
    const kept = journalFrame(header.length, 'kept')
    const at = header.length + kept.length
    const hole = journalFrame(at, 'lost')
    const build = (afterSynced: number): Buffer => {
      // The hole: its bytes never reached the disk (zeros), the frame after it did.
      const bytes = Buffer.concat([header, kept, Buffer.alloc(hole.length), journalFrame(afterSynced, 'after')])
      return bytes
    }
    // Written while 'kept' was the last synced frame: nothing vouches for the hole.
    const dir = tempDir()
    writeFileSync(join(dir, 'journal-0.log'), build(at))
    const warnings: string[] = []
    const s = await opened({ dir, onWarning: (w) => warnings.push(w) })
    expect(await s.get('results', 'kept')).toBe('kept')
    expect(await s.get('results', 'after')).toBeUndefined()
    expect(warnings.join('\n')).toContain(`torn tail of ${hole.length + journalFrame(at, 'after').length} bytes at offset ${at}`)
    expect(statSync(join(dir, 'journal-0.log')).size).toBe(at)
    await s.write([put('next', 1)])
    await closeAll()
    expect(await (await opened({ dir })).get('results', 'next')).toBe(1)
    // Written after an fdatasync had covered the damaged bytes: they were on disk, so this is damage.
    const damaged = tempDir()
    writeFileSync(join(damaged, 'journal-0.log'), build(at + hole.length))
    const error = await fileStorage({ dir: damaged, onWarning: () => {} })
      .open()
      .then(
        () => expect.unreachable('open should fail'),
        (e: unknown) => e as StorageError,
      )
    expect(error).toBeInstanceOf(StorageError)
    expect(error.message).toContain(`offset ${at}`)
  })

  it('a version 1 journal (frames without a synced mark) is still read, damage before an intact frame refused; a newer version is refused', async () => {
    const header = (version: number): Buffer => frameText(JSON.stringify({ kind: 'journal', version, generation: 0 }))
    const v1Frame = (key: string): Buffer => frameText(JSON.stringify([[put(key, key)]]))
    const dir = tempDir()
    writeFileSync(join(dir, 'journal-0.log'), Buffer.concat([header(1), v1Frame('a'), v1Frame('b')]))
    const s = await opened({ dir })
    expect(await s.get('results', 'a')).toBe('a')
    expect(await s.get('results', 'b')).toBe('b')
    await closeAll()
    // One unsynced frame at a time then: damage followed by an intact frame is corruption.
    const damaged = tempDir()
    const holed = Buffer.concat([header(1), Buffer.alloc(v1Frame('a').length), v1Frame('b')])
    writeFileSync(join(damaged, 'journal-0.log'), holed)
    await expect(fileStorage({ dir: damaged, onWarning: () => {} }).open()).rejects.toThrow(`offset ${header(1).length}`)
    const newer = tempDir()
    writeFileSync(join(newer, 'journal-0.log'), Buffer.concat([header(5), v1Frame('a')]))
    await expect(fileStorage({ dir: newer, onWarning: () => {} }).open()).rejects.toThrow(/format version 5.*newer celeriac/)
  })

  it('compacts into a snapshot and a new journal when the journal grows, and reopens from them', async () => {
    const dir = tempDir()
    const s = await opened({ dir, compactBytes: 4_096 })
    for (let i = 0; i < 200; i++) await s.write([put(`k${i % 20}`, { i, pad: 'p'.repeat(50) })])
    await compactionOf(s)
    const files = readdirSync(dir).sort()
    expect(files).toContain('snapshot')
    expect(files.filter((f) => f.startsWith('journal-'))).toHaveLength(1)
    expect(files).not.toContain('journal-0.log')
    expect(statSync(join(dir, files.find((f) => f.startsWith('journal-'))!)).size).toBeLessThan(4_096 * 2)
    await closeAll()
    const again = await opened({ dir })
    for (let k = 0; k < 20; k++) expect(await again.get('results', `k${k}`)).toEqual({ i: 180 + k, pad: 'p'.repeat(50) })
  })

  it('a damaged snapshot is a StorageError (it is only ever renamed into place whole)', async () => {
    const dir = tempDir()
    const s = await opened({ dir, compactBytes: 512 })
    for (let i = 0; i < 30; i++) await s.write([put(`k${i}`, 'v'.repeat(30))])
    await compactionOf(s)
    await closeAll()
    const path = join(dir, 'snapshot')
    expect(existsSync(path)).toBe(true)
    truncateSync(path, statSync(path).size - 3)
    await expect(fileStorage({ dir }).open()).rejects.toThrow(/snapshot is damaged/)
  })

  it('one owner per directory: a second open fails with a clear error; a stale lock is taken over', async () => {
    const dir = tempDir()
    await opened({ dir })
    const error = (await fileStorage({ dir })
      .open()
      .catch((e: unknown) => e)) as StorageError
    expect(error).toBeInstanceOf(StorageError)
    expect(error.message).toContain('already open in this process')
    await closeAll()
    // A lock left by a process that no longer exists.
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), since: 'then' }))
    const taken = await opened({ dir })
    await taken.write([put('x', 1)])
    expect(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')).pid).toBe(process.pid)
  })

  it('a lock held by a live process refuses the open and names that process', async () => {
    const dir = tempDir()
    const { spawn } = await import('node:child_process')
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
    try {
      writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: child.pid, host: (await import('node:os')).hostname(), since: 'now' }))
      await expect(fileStorage({ dir }).open()).rejects.toThrow(`owned by process ${String(child.pid)}`)
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('an empty LOCK counts as held while young (its writer may be mid-way) and as stale once old', async () => {
    const dir = tempDir()
    const lock = join(dir, 'LOCK')
    writeFileSync(lock, '')
    await expect(fileStorage({ dir }).open()).rejects.toThrow('is being locked by another process')
    const old = new Date(Date.now() - 60_000)
    utimesSync(lock, old, old)
    const s = await opened({ dir })
    await s.write([put('x', 1)])
    expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(process.pid)
    expect(existsSync(join(dir, `LOCK.${String(process.pid)}.tmp`))).toBe(false)
  })

  it('creates the directory 0700 and its files 0600', async () => {
    const dir = join(tempDir(), 'nested', 'jobs')
    const s = await opened({ dir, compactBytes: 256 })
    for (let i = 0; i < 10; i++) await s.write([put(`k${i}`, 'v'.repeat(40))])
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    for (const name of readdirSync(dir)) expect([name, statSync(join(dir, name)).mode & 0o777]).toEqual([name, 0o600])
  })

  it("durability 'write' keeps what was written across a reopen", async () => {
    const dir = tempDir()
    const s = await opened({ dir, durability: 'write' })
    await Promise.all(Array.from({ length: 10 }, (_, i) => s.write([put(`k${i}`, i)])))
    await closeAll()
    const again = await opened({ dir })
    expect(await again.entries('results')).toHaveLength(10)
  })

  it('bad options are ConfigErrors at the call', () => {
    expect(() => fileStorage({ dir: '' })).toThrow(ConfigError)
    expect(() => fileStorage({ dir: '/tmp/x', durability: 'sometimes' as 'fsync' })).toThrow(ConfigError)
    expect(() => fileStorage({ dir: '/tmp/x', compactBytes: 0 })).toThrow(ConfigError)
    expect(() => fileStorage({ dir: '/tmp/x', repair: 'yes' as unknown as boolean })).toThrow(ConfigError)
    expect(() => fileStorage({ dir: '/tmp/x', takeOverLockFrom: '' })).toThrow(/takeOverLockFrom must be a host name/)
    expect(() => fileStorage({ dir: '/tmp/x', snapshotChunkBytes: Number.NaN })).toThrow(ConfigError)
  })

  it('use before open and after close is a StorageError', async () => {
    const s = fileStorage({ dir: tempDir() })
    await expect(s.get('results', 'x')).rejects.toBeInstanceOf(StorageError)
    await s.open()
    await s.close()
    await expect(s.write([put('x', 1)])).rejects.toBeInstanceOf(StorageError)
  })
})

describe('frames', () => {
  it('a frame round-trips, and flipping any bit of it is detected', () => {
    const payload = Buffer.from(JSON.stringify([[put('k', { v: 'x' })]]))
    const bytes = frame(payload)
    expect(frameAt(bytes, 0)?.payload.equals(payload)).toBe(true)
    for (let at = 0; at < bytes.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = Buffer.from(bytes)
        damaged[at] = damaged[at]! ^ (1 << bit)
        expect(frameAt(damaged, 0)).toBeUndefined()
      }
    }
  })

  it("a frame made from text (the journal's) is the frame of its UTF-8 bytes, multi-byte characters included", () => {
    // Short texts are encoded into room for their largest form without measuring; long ones are measured first.
    const long = (unit: string, units: number): string => JSON.stringify('x'.repeat(units - 2 - unit.length) + unit)
    const texts = ['[0]', JSON.stringify([57, [put('k', { v: 'é→😀 and ascii' })]]), '', long('😀', 64 * 1024), long('→', 64 * 1024 + 1), long('é', 200_000)]
    // At the bound, texts that fill the room to the byte: 3 bytes a unit ('→', and a lone surrogate,
    // which UTF-8 writes as U+FFFD), and 4 bytes a surrogate pair.
    texts.push('→'.repeat(64 * 1024), '\ud800'.repeat(64 * 1024), '😀'.repeat(32 * 1024), `${'→'.repeat(64 * 1024 - 1)}\udc00`)
    for (const text of texts) {
      expect(frameText(text).equals(frame(Buffer.from(text, 'utf8')))).toBe(true)
    }
    // Each frame is its own bytes: a later frame leaves an earlier one as it was.
    const first = frameText('["first"]')
    frameText('["second, and longer"]')
    expect(first.equals(frame(Buffer.from('["first"]')))).toBe(true)
  })

  it("a journal flush frame made from its elements' texts is the frame of the array they spell, in a reused room or not", () => {
    // Around the bound (64K units: made in the room unmeasured, or measured), 3-byte units and 4-byte pairs.
    const bound = 64 * 1024
    const cases: Array<[string, string[]]> = [
      ['0', []],
      ['57', ['"messages"', JSON.stringify({ id: 'é→😀', v: [1, 'x'] }), '[0,"results","k"]']],
      ['0', [JSON.stringify('→'.repeat(bound - 6))]],
      ['0', [JSON.stringify('😀'.repeat(bound / 2 - 3))]],
      ['0', [JSON.stringify('→'.repeat(bound - 5))]],
      ['12345', ['"a"', JSON.stringify('é'.repeat(200_000)), JSON.stringify('→'.repeat(bound))]],
    ]
    const room = Buffer.alloc(FRAME_ROOM_BYTES)
    const made: Buffer[] = []
    for (const [first, items] of cases) {
      const expected = frameText(`[${[first, ...items].join(',')}]`)
      expect(frameItems(first, items).equals(expected)).toBe(true)
      const inRoom = frameItems(first, items, room)
      expect(inRoom.equals(expected)).toBe(true)
      made.push(Buffer.from(inRoom))
    }
    // A frame made in the room is a view of it: the next one made there replaces it.
    const first = frameItems('1', ['"first, and longer"'], room)
    frameItems('2', ['"second"'], room)
    expect(first.equals(frameText('[1,"first, and longer"]'))).toBe(false)
    expect(scanFrames(Buffer.concat(made), () => expect.unreachable('intact frames')).frames).toHaveLength(cases.length)
  })

  it('damage followed by an intact frame is corruption; damage at the end is a torn tail', () => {
    const good = frame(Buffer.from('"a"'))
    const torn = frame(Buffer.from('"b"')).subarray(0, 7)
    expect(scanFrames(Buffer.concat([good, torn]), () => expect.unreachable('a torn tail is not corruption')).goodLength).toBe(good.length)
    const damaged = Buffer.from(good)
    damaged[HEADER_BYTES] = 0
    let reported = -1
    expect(() =>
      scanFrames(Buffer.concat([good, damaged, good]), (offset) => {
        reported = offset
        throw new Error('corrupt')
      }),
    ).toThrow('corrupt')
    expect(reported).toBe(good.length)
  })
})
