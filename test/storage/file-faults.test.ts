/**
 * A dying disk: each write site of file storage fails in turn (ENOSPC, EIO) through an injected
 * file system. At a journal write (a flush, or making the next journal): the callers whose writes
 * failed get a StorageError (cause: the errno error), what resolved before is there after a reopen
 * on the real disk, later calls fail fast with the same error until the store is opened again, and
 * an app on that storage still stops. At a step of the snapshot a compaction writes in the
 * background: a warning, calls go on, and a later compaction succeeds.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Celeriac, StorageError, states } from '../../src/index.js'
import { fileStorage } from '../../src/node.js'
import type { Storage } from '../../src/storage/types.js'
import { virtualClock } from '../../src/testing.js'
import { faultyFs } from './faulty-fs.js'
import type { FsCall } from './faulty-fs.js'
import { compactionOf, fileHarness, put } from './file-harness.js'

const { tempDir, opened } = fileHarness()

const journal = /^journal-\d+\.log$/
/** A journal frame's write: writeSync for a small frame, the asynchronous write for a large one. */
const journalWrite = ({ name, file }: FsCall): boolean => (name === 'write' || name === 'writeSync') && journal.test(file)

/** Where a journal write can fail, as the call that fails there; `compacts`: at the start of a compaction. */
const journalSites: Array<{ site: string; matches: (call: FsCall) => boolean; compacts?: boolean }> = [
  { site: 'the journal write', matches: journalWrite },
  { site: 'the journal fdatasync', matches: ({ name, file }) => name === 'fdatasync' && journal.test(file) },
  // A compaction starts by making the next journal, synchronously, before any call goes to it.
  { site: 'the new journal creation', matches: ({ name, file }) => name === 'openSync' && journal.test(file), compacts: true },
  // Made before any frame goes to it: its first write is the header's.
  { site: "the new journal's header write", matches: ({ name, file }) => name === 'writeSync' && file === 'journal-1.log', compacts: true },
  { site: "the new journal's fsync", matches: ({ name, file }) => name === 'fsyncSync' && journal.test(file), compacts: true },
  { site: 'the directory fsync (new journal)', matches: ({ name, file }) => name === 'fsyncSync' && file.startsWith('/'), compacts: true },
]

/** Where the snapshot a compaction writes in the background can fail. */
const snapshotSites: Array<{ site: string; matches: (call: FsCall) => boolean }> = [
  { site: 'the snapshot creation', matches: ({ name, file }) => name === 'open' && file === 'snapshot.tmp' },
  { site: 'the snapshot write', matches: ({ name, file }) => name === 'write' && file === 'snapshot.tmp' },
  { site: 'the snapshot fsync', matches: ({ name, file }) => name === 'fsync' && file === 'snapshot.tmp' },
  { site: 'the snapshot rename', matches: ({ name, file }) => name === 'rename' && file === 'snapshot.tmp' },
  { site: 'the directory fsync (rename)', matches: ({ name, file }) => name === 'fsync' && file.startsWith('/') },
  { site: 'the removal of the replaced journal', matches: ({ name, file }) => name === 'unlink' && journal.test(file) },
]

const value = (key: string) => ({ key, pad: 'p'.repeat(40) })

/**
 * Writes three calls at a time (one flush) until they are refused; returns the keys that resolved
 * and the refusal, having checked that every call of the refused flush got the same error.
 */
async function writeUntilRefused(storage: Storage, from: number): Promise<{ resolved: string[]; error: unknown }> {
  const resolved: string[] = []
  for (let i = from; i < from + 300; i += 3) {
    const keys = [`k${i}`, `k${i + 1}`, `k${i + 2}`]
    const outcomes = await Promise.allSettled(keys.map((key) => storage.write([put(key, value(key))])))
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => o.reason as unknown)
    if (refused.length === 0) {
      resolved.push(...keys)
      continue
    }
    expect(refused).toHaveLength(3)
    expect(new Set(refused).size).toBe(1)
    return { resolved, error: refused[0] }
  }
  throw new Error('no write was refused')
}

describe('a dying disk stops the writer', () => {
  for (const { site, matches, compacts } of journalSites) {
    for (const code of ['ENOSPC', 'EIO']) {
      it(`${code} at ${site}: the failed callers get a StorageError, earlier calls survive, later calls fail fast until reopened`, async () => {
        const dir = tempDir()
        const faulty = faultyFs(dir)
        const storage = fileStorage({ dir, fs: faulty.fs, compactBytes: 1_024, onWarning: () => {} })
        await storage.open()
        const committed: string[] = []
        for (const key of ['a', 'b', 'c']) {
          await storage.write([put(key, value(key))])
          committed.push(key)
        }
        faulty.arm(matches, code)
        const { resolved, error } = await writeUntilRefused(storage, 0)
        committed.push(...resolved)
        expect(faulty.thrown?.code).toBe(code)
        expect(error).toBeInstanceOf(StorageError)
        expect((error as StorageError).code).toBe('STORAGE')
        expect((error as StorageError).cause).toBe(faulty.thrown)
        expect((error as StorageError).message).toContain(code)
        expect((error as StorageError).path).toBe(dir)
        // A journal fault refuses the flush it hit; a fault making the next journal comes after the
        // flush that started the compaction resolved (its frame is on disk), and refuses the calls after it.
        if (compacts) expect(resolved.length).toBeGreaterThan(0)
        else expect(resolved).toEqual([])
        // Fail fast, with the same error, the disk not touched again.
        const callsBefore = faulty.calls.length
        await expect(storage.write([put('later', 1)])).rejects.toBe(error)
        await expect(storage.transact([{ ns: 'results', key: 'a' }], () => ({ mutations: [put('t', 1)], result: 1 }))).rejects.toBe(error)
        await expect(storage.get('results', 'a')).rejects.toBe(error)
        await expect(storage.entries('results')).rejects.toBe(error)
        expect(faulty.calls.slice(callsBefore)).toEqual([])
        await storage.close()
        const again = await opened({ dir })
        for (const key of committed) expect(await again.get('results', key), key).toEqual(value(key))
        expect(await again.get('results', 'later')).toBeUndefined()
        await again.write([put('after', 1)])
        expect(await again.get('results', 'after')).toBe(1)
      })
    }
  }

  it('a large frame is written without blocking (write, not writeSync); a fault there refuses its calls and every call after', async () => {
    const dir = tempDir()
    const faulty = faultyFs(dir)
    const storage = fileStorage({ dir, fs: faulty.fs, onWarning: () => {} })
    await storage.open()
    await storage.write([put('small', 1)])
    const from = faulty.calls.length
    await storage.write([put('large', 'x'.repeat(300 * 1024))])
    expect(faulty.calls.slice(from)).toEqual(['write journal-0.log', 'fdatasync journal-0.log'])
    faulty.arm(({ name, file }) => name === 'write' && journal.test(file), 'EIO')
    const error = await storage.write([put('refused', 'y'.repeat(300 * 1024))]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StorageError)
    expect((error as StorageError).cause).toBe(faulty.thrown)
    await expect(storage.write([put('later', 1)])).rejects.toBe(error)
    await storage.close()
    const again = await opened({ dir })
    expect(await again.get('results', 'large')).toHaveLength(300 * 1024)
    expect(await again.get('results', 'refused')).toBeUndefined()
  })

  it('EIO when close() closes the journal: close still releases the directory, and it opens again', async () => {
    const dir = tempDir()
    const faulty = faultyFs(dir)
    const storage = fileStorage({ dir, fs: faulty.fs })
    await storage.open()
    await storage.write([put('a', 1)])
    faulty.arm(({ name, file }) => name === 'closeSync' && journal.test(file), 'EIO')
    await storage.close()
    expect(faulty.thrown?.code).toBe('EIO')
    expect(await (await opened({ dir })).get('results', 'a')).toBe(1)
  })

  it('a failure at open (creating the first journal) is a StorageError with the path and the cause', async () => {
    const dir = tempDir()
    const faulty = faultyFs(dir)
    faulty.arm(({ name, file }) => name === 'writeSync' && journal.test(file), 'ENOSPC')
    const error = (await fileStorage({ dir, fs: faulty.fs })
      .open()
      .catch((e: unknown) => e)) as StorageError
    expect(error).toBeInstanceOf(StorageError)
    expect(error.cause).toBe(faulty.thrown)
    expect(error.message).toMatch(/ENOSPC.*free space/)
    expect(error.path).toBe(dir)
    // The lock was released: the directory opens once the disk has room.
    await opened({ dir })
  })
})

describe('a compaction the disk fails only warns: the journals hold every call', () => {
  for (const { site, matches } of snapshotSites) {
    for (const code of ['ENOSPC', 'EIO']) {
      it(`${code} at ${site}: a warning, every call resolves and reads go on, a later compaction folds every journal, a reopen finds every call`, async () => {
        const dir = tempDir()
        const faulty = faultyFs(dir)
        const warnings: string[] = []
        const storage = fileStorage({ dir, fs: faulty.fs, compactBytes: 1_024, onWarning: (w) => warnings.push(w) })
        await storage.open()
        faulty.arm(matches, code)
        const committed: string[] = []
        let compactionsAfterFault = 0
        for (let i = 0; compactionsAfterFault < 1; i += 3) {
          expect(i, 'a compaction ran after the fault').toBeLessThan(3_000)
          const keys = [`k${i}`, `k${i + 1}`, `k${i + 2}`]
          const struckBefore = faulty.thrown !== undefined
          // Rejects (and fails the test) if any call is refused.
          await Promise.all(keys.map((key) => storage.write([put(key, value(key))])))
          committed.push(...keys)
          const running = compactionOf(storage)
          if (running === undefined) continue
          await running
          if (struckBefore) compactionsAfterFault++
        }
        expect(faulty.thrown?.code).toBe(code)
        expect(warnings).toEqual([expect.stringMatching(new RegExp(`^compacting ${dir} failed: ${code}.*Nothing is lost`))])
        for (const key of committed) expect(await storage.get('results', key), key).toEqual(value(key))
        // The compaction after the fault succeeded: one snapshot, one journal.
        expect(readdirSync(dir).filter((f) => f !== 'LOCK').length).toBe(2)
        expect(existsSync(join(dir, 'snapshot'))).toBe(true)
        await storage.close()
        const again = await opened({ dir })
        for (const key of committed) expect(await again.get('results', key), key).toEqual(value(key))
      })
    }
  }

  it('a journal failure while a compaction runs stops it: no snapshot is renamed in, nor the disk touched again', async () => {
    const dir = tempDir()
    const faulty = faultyFs(dir)
    const storage = fileStorage({ dir, fs: faulty.fs, compactBytes: 1_024, snapshotChunkBytes: 64, onWarning: () => {} })
    await storage.open()
    let i = 0
    while (compactionOf(storage) === undefined) {
      await storage.write([put(`k${i}`, value(`k${i}`))])
      i++
    }
    const running = compactionOf(storage)!
    faulty.arm(journalWrite, 'EIO')
    await expect(storage.write([put('refused', 1)])).rejects.toBeInstanceOf(StorageError)
    const callsAfter = faulty.calls.length
    await running
    // At most the write already in flight ends; nothing is renamed, removed or begun.
    expect(faulty.calls.slice(callsAfter).filter((c) => !c.startsWith('close '))).toEqual([])
    expect(existsSync(join(dir, 'snapshot'))).toBe(false)
    await storage.close()
    const again = await opened({ dir })
    expect(await again.get('results', 'refused')).toBeUndefined()
    expect(await again.get('results', `k${i - 1}`)).toEqual(value(`k${i - 1}`))
  })
})

describe('an app on a dying disk', () => {
  it('runs end FAILURE with the StorageError, sends are refused with it, and app.stop() returns within its timeout', async () => {
    const dir = tempDir()
    const faulty = faultyFs(dir)
    const storage = fileStorage({ dir, fs: faulty.fs, onWarning: () => {} })
    const app = new Celeriac({ storage, clock: virtualClock() })
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let bothStarted!: () => void
    const started = new Promise<void>((resolve) => (bothStarted = resolve))
    let starts = 0
    app.task('disk.wait', async () => {
      if (++starts === 2) bothStarted()
      await gate
      return 'done'
    })
    app.task('disk.quick', () => 'quick')
    await app.start()
    const before = await app.sendTask('disk.quick')
    expect(await before.get({ timeout: 5_000 })).toBe('quick')
    const running = await Promise.all([app.sendTask('disk.wait'), app.sendTask('disk.wait')])
    await started
    faulty.arm(journalWrite, 'ENOSPC')
    release()
    for (const r of running) {
      const error = await r.get({ timeout: 5_000 }).then(
        () => expect.unreachable('the outcome could not be stored'),
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(StorageError)
      expect((error as StorageError).message).toContain('ENOSPC')
    }
    expect(faulty.thrown?.code).toBe('ENOSPC')
    // Reads are refused too: memory holds outcomes the disk does not.
    await expect(running[0]!.state()).rejects.toBeInstanceOf(StorageError)
    await expect(app.sendTask('disk.quick')).rejects.toBeInstanceOf(StorageError)
    const timeout = 2_000
    const stopped = app.stop({ timeout }).then(() => 'stopped')
    let timer: ReturnType<typeof setTimeout> | undefined
    const hung = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('hung'), timeout + 3_000)))
    expect(await Promise.race([stopped, hung])).toBe('stopped')
    clearTimeout(timer)
    // What resolved before the disk failed is there.
    const reopened = await opened({ dir })
    expect(await reopened.get('results', before.id)).toMatchObject({ state: states.SUCCESS })
  })
})

describe('WriteOptions.onWritten', () => {
  it('is told once the frame is in the journal, before its fdatasync and before the write resolves; not when the write fails', async () => {
    const dir = tempDir()
    const faulty = faultyFs(dir)
    const storage = await opened({ dir, fs: faulty.fs })
    const order: string[] = []
    const from = faulty.calls.length
    await storage.write([put('a', value('a'))], { onWritten: () => order.push(`written after ${faulty.calls.slice(from).join(', ')}`) })
    order.push('resolved')
    expect(order).toEqual([`written after writeSync journal-0.log`, 'resolved'])
    expect(faulty.calls.slice(from)).toEqual(['writeSync journal-0.log', 'fdatasync journal-0.log'])

    faulty.arm(journalWrite, 'EIO')
    let told = 0
    await expect(storage.write([put('b', value('b'))], { onWritten: () => told++ })).rejects.toBeInstanceOf(StorageError)
    expect(told).toBe(0)
  })
})
