/**
 * A damaged directory is refused, never reset: each kind of damage is a StorageError naming the
 * file (and offset) and what to do, with nothing on disk changed; `repair: true` moves the
 * damaged files into a backup folder and opens what is intact. Also the directory's mode, errno
 * errors at open, and the lock's owner token and host.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { basename, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { StorageError } from '../../src/index.js'
import type { Storage } from '../../src/index.js'
import { fileStorage } from '../../src/node.js'
import type { FileStorageOptions } from '../../src/node.js'
import { HEADER_BYTES, frame } from '../../src/storage/file/frame.js'
import { journalHeader } from '../../src/storage/file/journal.js'
import { faultyFs } from './faulty-fs.js'
import { compactionOf, fileHarness, frameOffsets, put } from './file-harness.js'

const { tempDir, opened, closeAll } = fileHarness()

/** Every file of `dir` (recursively) with its bytes, to show nothing was changed. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name)
    if (statSync(path).isFile()) out[name] = readFileSync(path).toString('base64')
  }
  return out
}

/** Opening `dir` fails with a StorageError; returns it, having checked the directory is untouched. */
async function refused(options: FileStorageOptions): Promise<StorageError> {
  const before = contents(options.dir)
  const error = await fileStorage({ onWarning: () => {}, ...options })
    .open()
    .then(
      () => expect.unreachable('the damaged directory opened'),
      (e: unknown) => e as StorageError,
    )
  expect(error).toBeInstanceOf(StorageError)
  expect(error.code).toBe('STORAGE')
  expect(contents(options.dir)).toEqual(before)
  return error
}

/** A directory after a compaction: `snapshot` and its journal (`journal` is the path), keys k0..k29 and after0..after2. */
async function compacted(): Promise<{ dir: string; journal: string }> {
  const dir = tempDir()
  const s = await opened({ dir, compactBytes: 1_024 })
  for (let i = 0; i < 30; i++) await s.write([put(`k${i}`, 'v'.repeat(30))])
  for (let i = 0; i < 3; i++) await s.write([put(`after${i}`, i)])
  // Not cut short by the close (that would leave two journals).
  await compactionOf(s)
  await closeAll()
  const journals = readdirSync(dir).filter((f) => f.startsWith('journal-'))
  expect(journals).toHaveLength(1)
  expect(journals).not.toEqual(['journal-0.log'])
  return { dir, journal: join(dir, journals[0]!) }
}

/** Opens with `repair: true`; returns the storage, the warnings and the backup folder's files. */
async function repaired(dir: string): Promise<{ storage: Storage; warnings: string[]; backup: Record<string, string> }> {
  const warnings: string[] = []
  const storage = await opened({ dir, repair: true, onWarning: (w) => warnings.push(w) })
  const folders = readdirSync(dir).filter((f) => f.startsWith('repair-'))
  expect(folders).toHaveLength(1)
  expect(statSync(join(dir, folders[0]!)).mode & 0o777).toBe(0o700)
  return { storage, warnings, backup: contents(join(dir, folders[0]!)) }
}

describe('a damaged directory is refused, never reset', () => {
  it('a missing snapshot with its journal there is refused (it used to open empty and delete the journal)', async () => {
    const { dir, journal: path } = await compacted()
    const journal = readFileSync(path)
    rmSync(join(dir, 'snapshot'))
    const error = await refused({ dir })
    expect(error.path).toBe(path)
    expect(error.message).toContain('the snapshot is missing')
    expect(error.message).toContain('repair: true')
    // Repair keeps the journal in the backup and opens empty.
    const { storage, warnings, backup } = await repaired(dir)
    expect(await storage.entries('results')).toEqual([])
    expect(Object.values(backup)).toEqual([journal.toString('base64')])
    expect(warnings.join('\n')).toContain(`moved ${path}`)
  })

  it("a snapshot whose journal is missing is refused; repair opens the snapshot's state", async () => {
    const { dir, journal } = await compacted()
    rmSync(journal)
    const error = await refused({ dir })
    expect(error.path).toBe(journal)
    expect(error.message).toContain('is missing')
    const warnings: string[] = []
    const storage = await opened({ dir, repair: true, onWarning: (w) => warnings.push(w) })
    expect(await storage.get('results', 'k0')).toBe('v'.repeat(30))
    expect(warnings.join('\n')).toContain(`repair: ${journal} is missing`)
    // Nothing to set aside: no backup folder.
    expect(readdirSync(dir).filter((f) => f.startsWith('repair-'))).toEqual([])
  })

  it("a journal of another generation than the snapshot's is refused (it used to be deleted)", async () => {
    const { dir, journal } = await compacted()
    writeFileSync(join(dir, 'journal-7.log'), readFileSync(journal))
    const error = await refused({ dir })
    expect(error.path).toBe(join(dir, 'journal-7.log'))
    expect(error.message).toContain('does not belong to the snapshot')
    const { storage, backup } = await repaired(dir)
    expect(Object.keys(backup)).toEqual(['journal-7.log'])
    expect(await storage.get('results', 'after2')).toBe(2)
  })

  it('a journal with no intact frame and more bytes than a header is damage at offset 0 (it used to be overwritten as a torn header)', async () => {
    const dir = tempDir()
    const garbage = Buffer.alloc(300, 0x5a)
    writeFileSync(join(dir, 'journal-0.log'), garbage)
    const error = await refused({ dir })
    expect(error.path).toBe(join(dir, 'journal-0.log'))
    expect(error.offset).toBe(0)
    expect(error.message).toContain('byte offset 0')
    const { storage, backup } = await repaired(dir)
    expect(backup['journal-0.log']).toBe(garbage.toString('base64'))
    await storage.write([put('fresh', 1)])
    await closeAll()
    expect(await (await opened({ dir })).get('results', 'fresh')).toBe(1)
  })

  it('a frame holding something that is no call is damage, and none of its calls is applied (repair keeps the frames before it, in memory too)', async () => {
    const dir = tempDir()
    const calls = (...list: unknown[]): Buffer => frame(Buffer.from(JSON.stringify([0, ...list])))
    const path = join(dir, 'journal-0.log')
    writeFileSync(path, Buffer.concat([journalHeader(0), calls([1, 'results', 'before', 1]), calls([1, 'results', 'partial', 2], 'no call')]))
    expect((await refused({ dir })).offset).toBe(frameOffsets(path)[2])
    const { storage } = await repaired(dir)
    expect(await storage.entries('results')).toEqual([['before', 1]])
    await closeAll()
    expect(await (await opened({ dir })).entries('results')).toEqual([['before', 1]])
  })

  it('a journal cut short inside its header (a crash while a fresh store created it) still opens, with a warning', async () => {
    const dir = tempDir()
    await opened({ dir })
    await closeAll()
    const path = join(dir, 'journal-0.log')
    const header = readFileSync(path)
    for (const cut of [0, 5, HEADER_BYTES, header.length - 1]) {
      writeFileSync(path, header.subarray(0, cut))
      const warnings: string[] = []
      const s = await opened({ dir, onWarning: (w) => warnings.push(w) })
      await s.write([put('x', cut)])
      await closeAll()
      expect(warnings.length, `cut at ${cut}`).toBe(cut === 0 ? 0 : 1)
    }
  })

  it('a header cut short is damage once a snapshot exists (the journal was made durable before the snapshot)', async () => {
    const { dir, journal: path } = await compacted()
    writeFileSync(path, readFileSync(path).subarray(0, 7))
    const error = await refused({ dir })
    expect(error.offset).toBe(0)
  })

  it('a byte flipped mid-journal: refused; repair keeps the frames before the damage and the whole file in the backup', async () => {
    const dir = tempDir()
    const s = await opened({ dir })
    for (let i = 0; i < 5; i++) await s.write([put(`k${i}`, 'x'.repeat(40))])
    await closeAll()
    const path = join(dir, 'journal-0.log')
    const offsets = frameOffsets(path)
    const damaged = readFileSync(path)
    const at = offsets[3]! + HEADER_BYTES + 2
    damaged[at] = damaged[at]! ^ 0xff
    writeFileSync(path, damaged)
    const error = await refused({ dir })
    expect(error.offset).toBe(offsets[3])
    const { storage, warnings, backup } = await repaired(dir)
    expect(backup['journal-0.log']).toBe(damaged.toString('base64'))
    expect((await storage.entries('results')).map(([k]) => k).sort()).toEqual(['k0', 'k1'])
    expect(warnings.join('\n')).toContain(`byte offset ${offsets[3]}`)
    await storage.write([put('after', 1)])
    await closeAll()
    expect((await (await opened({ dir })).entries('results')).map(([k]) => k).sort()).toEqual(['after', 'k0', 'k1'])
  })

  it('a damaged snapshot: refused; repair sets it and its journals aside and opens empty', async () => {
    const { dir, journal } = await compacted()
    const path = join(dir, 'snapshot')
    const bytes = readFileSync(path)
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0x01
    writeFileSync(path, bytes)
    const error = await refused({ dir })
    expect(error.path).toBe(path)
    const { storage, backup } = await repaired(dir)
    expect(Object.keys(backup).sort()).toEqual([basename(journal), 'snapshot'])
    expect(await storage.entries('results')).toEqual([])
  })
})

describe('damage with the streamed snapshot and the journals of a compaction cut short', () => {
  /** A directory whose snapshot has many frames (records k0..k59), and its journal. */
  async function streamed(): Promise<{ dir: string; journal: string }> {
    const dir = tempDir()
    const s = await opened({ dir, compactBytes: 4_096, snapshotChunkBytes: 256 })
    for (let i = 0; i < 60; i++) await s.write([put(`k${i}`, 'v'.repeat(60))])
    await compactionOf(s)
    await closeAll()
    const journals = readdirSync(dir).filter((f) => f.startsWith('journal-'))
    expect(journals).toHaveLength(1)
    return { dir, journal: join(dir, journals[0]!) }
  }

  it('a byte flipped in a middle frame of the snapshot: refused with its path and offset; repair sets it and its journal aside', async () => {
    const { dir, journal } = await streamed()
    const path = join(dir, 'snapshot')
    const offsets = frameOffsets(path)
    expect(offsets.length).toBeGreaterThan(6)
    const middle = offsets[Math.floor(offsets.length / 2)]!
    const bytes = readFileSync(path)
    bytes[middle + HEADER_BYTES + 3]! ^= 0x01
    writeFileSync(path, bytes)
    const error = await refused({ dir })
    expect(error.path).toBe(path)
    expect(error.offset).toBe(middle)
    expect(error.message).toContain(`is damaged at byte offset ${middle}`)
    expect(error.message).toContain('repair: true')
    const { storage, warnings, backup } = await repaired(dir)
    expect(Object.keys(backup).sort()).toEqual([basename(journal), 'snapshot'])
    expect(backup.snapshot).toBe(bytes.toString('base64'))
    expect(await storage.entries('results')).toEqual([])
    expect(warnings.join('\n')).toContain(`byte offset ${middle}`)
  })

  it('a snapshot cut at a frame boundary (its end frame missing) is damage at that offset', async () => {
    const { dir } = await streamed()
    const path = join(dir, 'snapshot')
    const offsets = frameOffsets(path)
    writeFileSync(path, readFileSync(path).subarray(0, offsets.at(-1)))
    const error = await refused({ dir })
    expect(error.path).toBe(path)
    expect(error.offset).toBe(offsets.at(-1))
  })

  it('journals of a compaction cut short replay in turn, an older one is removed, one after a gap is refused (repair sets it aside)', async () => {
    const { dir, journal } = await streamed()
    const generation = Number(/journal-(\d+)\.log$/.exec(journal)![1])
    const calls = (mutations: unknown): Buffer => frame(Buffer.from(JSON.stringify([0, mutations]), 'utf8'))
    // Before its rename, a compaction leaves the next generation's journal taking the calls.
    writeFileSync(join(dir, `journal-${generation + 1}.log`), Buffer.concat([journalHeader(generation + 1), calls([put('late', 1)])]))
    // After it, the journal it replaced may not be removed yet.
    writeFileSync(join(dir, `journal-${generation - 1}.log`), journalHeader(generation - 1))
    const s = await opened({ dir })
    expect(await s.get('results', 'late')).toBe(1)
    expect(await s.get('results', 'k59')).toBe('v'.repeat(60))
    await closeAll()
    expect(existsSync(join(dir, `journal-${generation - 1}.log`))).toBe(false)
    const gap = join(dir, `journal-${generation + 3}.log`)
    writeFileSync(gap, journalHeader(generation + 3))
    const error = await refused({ dir })
    expect(error.path).toBe(gap)
    expect(error.message).toContain('does not belong to the snapshot')
    const { storage, backup } = await repaired(dir)
    expect(Object.keys(backup)).toEqual([basename(gap)])
    expect(await storage.get('results', 'late')).toBe(1)
  })
})

describe('errors at open', () => {
  // `skip`: the matching calls let through first (the lock lists the directory, only to tidy; the
  // journal is opened twice to be read, its header then its frames, before it is opened to append).
  for (const [call, code, file, skip] of [
    ['openSync', 'EACCES', 'journal-0.log', 0],
    ['readSync', 'EIO', 'journal-0.log', 1],
    ['readdirSync', 'EPERM', undefined, 1],
    ['openSync', 'EACCES', 'LOCK.tmp', 0],
    ['openSync', 'EROFS', 'journal-0.log', 2],
  ] as const) {
    it(`${code} at ${call} ${file ?? 'the directory'} is a StorageError with the path and what to do`, async () => {
      const dir = tempDir()
      await opened({ dir })
      await closeAll()
      const faulty = faultyFs(dir)
      const matchesFile = (name: string): boolean => (file === undefined ? name === dir : file === 'LOCK.tmp' ? /^LOCK\.\d+\.tmp$/.test(name) : name === file)
      faulty.arm((c) => c.name === call && matchesFile(c.file), code, skip)
      const error = await fileStorage({ dir, fs: faulty.fs })
        .open()
        .then(
          () => expect.unreachable('the open should fail'),
          (e: unknown) => e as StorageError,
        )
      expect(error).toBeInstanceOf(StorageError)
      expect(error.cause).toBe(faulty.thrown)
      expect(error.path).toBeDefined()
      expect(error.message).toMatch(
        { EROFS: /read-only/, EIO: /I\/O error/, EACCES: /Give the user running the app/, EPERM: /Give the user running the app/ }[code],
      )
      // The lock was released.
      expect(existsSync(join(dir, 'LOCK'))).toBe(false)
    })
  }
})

describe('the directory is private', () => {
  it('a pre-existing directory this process owns is made 0700', async () => {
    const dir = join(tempDir(), 'jobs')
    mkdirSync(dir, { mode: 0o755 })
    chmodSync(dir, 0o755)
    await opened({ dir })
    expect(statSync(dir).mode & 0o777).toBe(0o700)
  })

  it('one owned by another user is left as it is, with a warning', async () => {
    const dir = join(tempDir(), 'jobs')
    mkdirSync(dir)
    chmodSync(dir, 0o755)
    const faulty = faultyFs(dir)
    const uid = process.getuid!()
    const fs = { ...faulty.fs, statSync: (path: string) => Object.assign(faulty.fs.statSync(path), path === dir ? { uid: uid + 1 } : {}) }
    const warnings: string[] = []
    await opened({ dir, fs, onWarning: (w) => warnings.push(w) })
    expect(statSync(dir).mode & 0o777).toBe(0o755)
    expect(warnings.join('\n')).toContain(`belongs to uid ${uid + 1}`)
  })
})

describe('the lock names its owner', () => {
  it('close() leaves a LOCK that no longer holds its token (another process took over), with a warning', async () => {
    const dir = tempDir()
    const warnings: string[] = []
    const s = await opened({ dir, onWarning: (w) => warnings.push(w) })
    const lock = join(dir, 'LOCK')
    const ours = JSON.parse(readFileSync(lock, 'utf8')) as { token: string }
    expect(ours.token).toMatch(/^[0-9a-f-]{36}$/)
    const theirs = JSON.stringify({ pid: 1, host: hostname(), since: 'now', token: 'theirs' })
    writeFileSync(lock, theirs)
    await s.close()
    expect(readFileSync(lock, 'utf8')).toBe(theirs)
    expect(warnings.join('\n')).toContain('no longer holds')
  })

  it('a LOCK left by another host is refused, naming the override; takeOverLockFrom takes it', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: process.pid, host: 'elsewhere.example', since: 'then', token: 'x' }))
    const error = await refused({ dir })
    expect(error.message).toContain('on another host, elsewhere.example')
    expect(error.message).toContain(`takeOverLockFrom: "elsewhere.example"`)
    await expect(fileStorage({ dir, takeOverLockFrom: 'other.example' }).open()).rejects.toThrow('elsewhere.example')
    const s = await opened({ dir, takeOverLockFrom: 'elsewhere.example' })
    await s.write([put('x', 1)])
    expect(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() })
  })
})
