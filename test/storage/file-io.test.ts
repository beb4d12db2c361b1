/**
 * File storage seen through its system calls. `node:fs` is wrapped for this file only: every
 * call still goes to the real one, on real files with real fsyncs, but a test can look at the
 * directory before a call, hold the report of a finished fdatasync, or act at a chosen step.
 * Nothing waits on time: each test moves from one call to the next.
 */
import { spawn, spawnSync } from 'node:child_process'
import { appendFileSync, cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { basename, join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { StorageError } from '../../src/index.js'
import { fileStorage } from '../../src/node.js'
import { bundledScript } from '../workers/bundled.js'
import { fileHarness, journalKeys, put } from './file-harness.js'

const spy = vi.hoisted(() => ({
  real: undefined as unknown as typeof import('node:fs'),
  /** Runs before each wrapped call (for `write` and `fdatasync`, when they are issued). */
  before: undefined as ((call: string, args: readonly unknown[]) => void) | undefined,
  /** Runs after each wrapped synchronous call, with what it returned. */
  after: undefined as ((call: string, args: readonly unknown[], out: unknown) => void) | undefined,
  /** Gets each finished fdatasync's outcome and decides when its caller hears of it. Default: at once. */
  synced: undefined as ((error: Error | null, report: (error: Error | null) => void) => void) | undefined,
}))

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>()
  spy.real = fs
  const wrapped: Record<string, unknown> = {}
  for (const name of ['openSync', 'writeSync', 'fsyncSync', 'closeSync', 'renameSync', 'unlinkSync', 'ftruncateSync', 'linkSync'] as const) {
    const real = fs[name] as (...args: unknown[]) => unknown
    wrapped[name] = (...args: unknown[]) => {
      spy.before?.(name, args)
      const out = real(...args)
      spy.after?.(name, args, out)
      return out
    }
  }
  wrapped.write = (...args: unknown[]) => {
    spy.before?.('write', args)
    ;(fs.write as (...a: unknown[]) => void)(...args)
  }
  // The snapshot's own steps are asynchronous.
  wrapped.open = (path: string, flags: string, ...rest: unknown[]) => {
    const callback = rest.pop() as (error: Error | null, fd: number) => void
    spy.before?.('open', [path])
    ;(fs.open as (...a: unknown[]) => void)(path, flags, ...rest, (error: Error | null, fd: number) => {
      if (error === null) spy.after?.('open', [path], fd)
      callback(error, fd)
    })
  }
  wrapped.rename = (from: string, to: string, callback: (error: Error | null) => void) => {
    spy.before?.('rename', [from, to])
    fs.rename(from, to, callback)
  }
  wrapped.unlink = (path: string, callback: (error: Error | null) => void) => {
    spy.before?.('unlink', [path])
    fs.unlink(path, (error) => {
      spy.after?.('unlink', [path], undefined)
      callback(error)
    })
  }
  for (const name of ['fsync', 'close'] as const) {
    wrapped[name] = (fd: number, callback: (error: Error | null) => void) => {
      spy.before?.(name, [fd])
      fs[name](fd, callback)
    }
  }
  wrapped.fdatasync = (fd: number, callback: (error: Error | null) => void) => {
    spy.before?.('fdatasync', [fd])
    fs.fdatasync(fd, (error) => (spy.synced ?? ((e, report) => report(e)))(error, callback))
  }
  return { ...fs, ...wrapped, default: { ...fs, ...wrapped } }
})

const { tempDir, opened, closeAll } = fileHarness()

afterEach(() => {
  spy.before = spy.after = spy.synced = undefined
  vi.useRealTimers()
})

/** Lets the event loop go round `n` times: long enough for anything not held to happen. */
async function turns(n = 10): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/**
 * From now on every finished fdatasync waits for the test: the returned function resolves with
 * the next one's release (its data is on disk; its caller has not heard yet).
 */
function holdSyncs(): () => Promise<() => void> {
  const held: Array<() => void> = []
  let wake: (() => void) | undefined
  spy.synced = (error, report) => {
    held.push(() => report(error))
    wake?.()
  }
  return async () => {
    while (held.length === 0) await new Promise<void>((resolve) => (wake = resolve))
    return held.shift()!
  }
}

function countCalls(): Record<string, number> {
  const counts: Record<string, number> = {}
  spy.before = (call) => {
    counts[call] = (counts[call] ?? 0) + 1
  }
  return counts
}

/** Rejects if `promise` settles first: a call that resolved before its fdatasync reported. */
const notBefore = (promise: Promise<unknown>): Promise<never> =>
  promise.then(() => {
    throw new Error('the call resolved before its fdatasync completed')
  })

describe('durability: a call resolves only once its frame is on disk', () => {
  it('write and transact resolve after the fdatasync of the frame holding them has completed, not before', async () => {
    const dir = tempDir()
    const s = await opened({ dir })
    const journal = join(dir, 'journal-0.log')
    const onDiskAtSync: string[][][][] = []
    spy.before = (call) => {
      if (call === 'fdatasync') onDiskAtSync.push(journalKeys(journal))
    }
    const nextSync = holdSyncs()
    let settled = 0
    const write = s.write([put('a', 1)]).then(() => settled++)
    const transact = s.transact([{ ns: 'results', key: 'a' }], ([a]) => ({ mutations: [put('b', a)], result: 'ok' })).then(() => settled++)
    const release = await Promise.race([nextSync(), notBefore(write), notBefore(transact)])
    // The frame was written before the sync began; the sync is done, its report held back.
    expect(onDiskAtSync).toEqual([[[['a'], ['b']]]])
    await turns()
    expect(settled).toBe(0)
    release()
    await Promise.all([write, transact])
    expect(settled).toBe(2)
  })

  it("durability 'write' resolves without an fdatasync (the documented weaker mode)", async () => {
    const s = await opened({ dir: tempDir(), durability: 'write' })
    const counts = countCalls()
    await Promise.all([s.write([put('a', 1)]), s.write([put('b', 2)])])
    expect(counts).toEqual({ writeSync: 1 })
  })

  it('a failed fdatasync rejects the calls of its flush with a StorageError, and every call after it', async () => {
    const s = await opened({ dir: tempDir() })
    spy.synced = (_error, report) => report(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }))
    const error = (await s.write([put('a', 1)]).catch((e: unknown) => e)) as StorageError
    expect(error).toBeInstanceOf(StorageError)
    expect(error.message).toContain('EIO')
    spy.synced = undefined
    await expect(s.write([put('b', 2)])).rejects.toBe(error)
  })
})

describe('group commit', () => {
  it('calls made while an fdatasync is in flight are written meanwhile (a kill cannot lose them) and share the next fdatasync', async () => {
    const dir = tempDir()
    const s = await opened({ dir })
    const counts = countCalls()
    const nextSync = holdSyncs()
    const first = s.write([put('first', 0)])
    const releaseFirst = await nextSync()
    const settled: number[] = []
    const written: number[] = []
    let allWritten!: () => void
    const inTheFile = new Promise<void>((resolve) => (allWritten = resolve))
    const later: Array<Promise<unknown>> = []
    for (let i = 0; i < 12; i++) {
      const onWritten = (): void => {
        if (written.push(i) === 12) allWritten()
      }
      later.push(s.write([put(`later${i}`, i)], { onWritten }).then(() => settled.push(i)))
      if (i % 4 === 3) await turns(2)
    }
    // In the file while the first fdatasync is on disk: frames of their own, none synced yet.
    await Promise.race([inTheFile, ...later.map(notBefore)])
    expect(written).toEqual(Array.from({ length: 12 }, (_, i) => i))
    expect(counts.writeSync).toBeGreaterThan(1)
    expect(counts.fdatasync).toBe(1)
    expect(settled).toEqual([])
    releaseFirst()
    await first
    // That fdatasync began before they were written: the next one covers them all.
    const releaseSecond = await Promise.race([nextSync(), ...later.map(notBefore)])
    expect(counts.fdatasync).toBe(2)
    expect(settled).toEqual([])
    releaseSecond()
    await Promise.all(later)
    expect(counts.fdatasync).toBe(2)
    const frames = journalKeys(join(dir, 'journal-0.log'))
    expect(frames[0]).toEqual([['first']])
    expect(frames.slice(1).flat()).toEqual(Array.from({ length: 12 }, (_, i) => [`later${i}`]))
  })

  it('commitWindow: a flush starts that many ms after the first call of its batch (not later calls), and again after an in-flight one', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const dir = tempDir()
    const s = await opened({ dir, commitWindow: 50 })
    const counts = countCalls()
    const batch = [s.write([put('a', 1)])]
    await turns(3)
    vi.advanceTimersByTime(30)
    batch.push(s.write([put('b', 2)]))
    await turns(3)
    vi.advanceTimersByTime(19)
    batch.push(s.write([put('c', 3)]))
    await turns(3)
    expect(counts).toEqual({})
    const nextSync = holdSyncs()
    vi.advanceTimersByTime(1)
    const release = await nextSync()
    // A call made while that flush is on disk waits for the window again once it is done.
    const after = s.write([put('d', 4)])
    release()
    await Promise.all(batch)
    await turns(3)
    expect(counts).toEqual({ writeSync: 1, fdatasync: 1 })
    vi.advanceTimersByTime(49)
    await turns(3)
    expect(counts).toEqual({ writeSync: 1, fdatasync: 1 })
    spy.synced = undefined
    vi.advanceTimersByTime(1)
    await after
    expect(counts).toEqual({ writeSync: 2, fdatasync: 2 })
    expect(journalKeys(join(dir, 'journal-0.log'))).toEqual([[['a'], ['b'], ['c']], [['d']]])
  })
})

describe('compaction, stopped at every step', () => {
  /** The calls of the workload: overwrites and deletes, so a lost, repeated or reordered call shows. */
  function call(i: number) {
    if (i % 5 === 4) return [{ op: 'delete', ns: 'results', key: `k${(i + 3) % 7}` } as const, put('last', i)]
    return [put(`k${i % 7}`, i), put('last', i)]
  }
  /** The results namespace after the first `n` calls, sorted. */
  function stateAfter(n: number): Array<[string, unknown]> {
    const state = new Map<string, unknown>()
    for (let i = 0; i < n; i++) for (const m of call(i)) m.op === 'put' ? state.set(m.key, m.value) : state.delete(m.key)
    return [...state].sort(([a], [b]) => a.localeCompare(b))
  }

  it('every on-disk state two compactions pass through reopens to the calls that had resolved (or those plus the pending one), nothing lost or doubled', async () => {
    const dir = tempDir()
    // Small snapshot frames: the snapshot takes several writes, and calls go on between them.
    const s = await opened({ dir, compactBytes: 1_024, snapshotChunkBytes: 32 })
    const captures: Array<{ label: string; dir: string; committed: number; issued: number }> = []
    const pathOfFd = new Map<number, string>()
    let issued = 0
    let committed = 0
    let compacting = false
    let compactions = 0
    const flushesSeen = [0, 0]
    const capture = (label: string, torn?: { fd: number; bytes: Buffer }): void => {
      const copy = `${dir}-state-${captures.length}`
      cpSync(dir, copy, { recursive: true })
      // A write cut short by the kill: half of its bytes reached the file.
      if (torn !== undefined) appendFileSync(join(copy, basename(pathOfFd.get(torn.fd)!)), torn.bytes.subarray(0, torn.bytes.length >> 1))
      captures.push({ label, dir: copy, committed, issued })
    }
    /** Journals just created: their first writeSync is the header's; every other journal write is a flush's frame. */
    const headerNext = new Set<number>()
    spy.before = (name, args) => {
      // A compaction starts by creating the next generation's journal.
      if (name === 'openSync' && compactions < 2 && String(args[0]).startsWith(`${dir}/journal-`)) compacting = true
      const header = name === 'writeSync' && headerNext.delete(args[0] as number)
      if (!compacting) return
      const target = typeof args[0] === 'number' ? pathOfFd.get(args[0]) : String(args[0])
      const journalFile = /journal-\d+\.log$/.test(target ?? '')
      // A flush's frame: written with writeSync when small, with write when large.
      const frameWrite = name === 'write' || (name === 'writeSync' && journalFile && !header)
      // The flushes that go on meanwhile are all alike: a few of them are enough.
      const flush = (frameWrite || name === 'fdatasync') && journalFile
      if (flush && ++flushesSeen[compactions]! > 2) return
      capture(`before ${frameWrite ? 'write' : name} ${target === dir ? 'the directory' : basename(target ?? 'the old journal')}`)
      if (frameWrite) {
        const [fd, buffer, offset, length] = args as [number, Buffer, number, number]
        capture(`half of write ${basename(target!)}`, { fd, bytes: buffer.subarray(offset, offset + length) })
      } else if (name === 'writeSync')
        capture(`half of writeSync ${basename(target!)}`, { fd: args[0] as number, bytes: (args[1] as Buffer).subarray(args[2] as number) })
    }
    spy.after = (name, args, out) => {
      if (name === 'openSync' && args[1] === 'w' && /journal-\d+\.log$/.test(String(args[0]))) headerNext.add(out as number)
      if (name === 'openSync' || name === 'open') pathOfFd.set(out as number, String(args[0]))
      if (compacting && name === 'unlink' && /journal-\d+\.log$/.test(String(args[0]))) {
        capture(`after unlink ${basename(String(args[0]))}`)
        compacting = false
        compactions++
      }
    }
    // Each call is made while the previous one's fdatasync is in flight, so a compaction always
    // has one call applied in memory but not yet in any journal.
    let finished!: () => void
    const done = new Promise<void>((resolve) => (finished = resolve))
    const send = (): void => {
      void s.write(call(issued++))
    }
    spy.synced = (error, report) => {
      if (compactions < 2 && issued < 500) send()
      else finished()
      committed++
      report(error)
    }
    send()
    await done
    await closeAll()
    expect(compactions).toBe(2)

    const labels = captures.map((c) => c.label)
    // The steps of the compaction (NOTES, File storage), each seen as the directory a kill there would leave.
    for (const step of [
      'before openSync journal-1.log',
      'half of writeSync journal-1.log',
      'before open snapshot.tmp',
      'half of write snapshot.tmp',
      'before fsync snapshot.tmp',
      'before rename snapshot.tmp',
      'before fsync the directory',
      'before unlink journal-0.log',
      'after unlink journal-0.log',
      'before openSync journal-2.log',
      'before rename snapshot.tmp',
      'before unlink journal-1.log',
    ]) {
      expect(labels).toContain(step)
    }
    // Calls went on while the first snapshot was written: into the new journal, before the rename.
    const first = labels.slice(labels.indexOf('before open snapshot.tmp'), labels.indexOf('before rename snapshot.tmp'))
    expect(first).toContain('half of write journal-1.log')
    expect(first.filter((l) => l === 'half of write snapshot.tmp').length).toBeGreaterThan(3)
    for (const c of captures) {
      const warnings: string[] = []
      const reopened = fileStorage({ dir: c.dir, onWarning: (w) => warnings.push(w) })
      await reopened.open()
      const results = (await reopened.entries('results')).sort(([a], [b]) => a.localeCompare(b))
      const matches = [c.committed, c.issued].filter((n) => JSON.stringify(stateAfter(n)) === JSON.stringify(results))
      expect(matches, `${c.label}: reopened to ${JSON.stringify(results)}`).not.toEqual([])
      // Only a flush cut short leaves something to warn about: its torn tail.
      const torn = c.label.startsWith('half of write journal-')
      expect(
        warnings.filter((w) => !(torn && w.includes('cut off a torn tail'))),
        c.label,
      ).toEqual([])
      // What is left is the snapshot's generation (and the next one's journal, if a compaction
      // was cut short before its rename), ready for more.
      await reopened.write([put('more', 1)])
      await reopened.close()
      const left = readdirSync(c.dir).filter((f) => f !== 'LOCK' && f !== 'snapshot')
      expect(left.length, c.label).toBeLessThanOrEqual(2)
      expect(
        left.every((f) => /^journal-\d+\.log$/.test(f)),
        c.label,
      ).toBe(true)
      const again = fileStorage({ dir: c.dir })
      await again.open()
      expect(await again.get('results', 'more'), c.label).toBe(1)
      await again.close()
    }
  })
})

describe('the directory lock', () => {
  // Compiled once per run (test/workers/bundled.ts): a child started through tsx takes seconds.
  const openDir = bundledScript(new URL('./fixtures/open-dir.ts', import.meta.url))
  const openFromAnotherProcess = (dir: string): string => spawnSync(process.execPath, [openDir, dir], { encoding: 'utf8', timeout: 15_000 }).stdout.trim()

  it('a process opening the directory while this one is taking the lock finds it owned, never empty', async () => {
    const dir = tempDir()
    const lock = join(dir, 'LOCK')
    let other: string | undefined
    spy.after = (name, args) => {
      // The moment LOCK first exists (an exclusive create or a link): another process tries.
      const creates = (name === 'openSync' && String(args[1]).includes('x')) || name === 'linkSync'
      if (other === undefined && creates && String(name === 'linkSync' ? args[1] : args[0]) === lock) other = openFromAnotherProcess(dir)
    }
    await opened({ dir })
    expect(other).toContain(`refused The storage directory ${dir} is owned by process ${String(process.pid)} on ${hostname()}`)
    expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(process.pid)
  })

  it('two processes taking over one stale lock cannot both win', async () => {
    const dir = tempDir()
    const lock = join(dir, 'LOCK')
    const live = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
    try {
      writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), since: 'then' }))
      // Right before this process removes the stale lock, a live process takes it over first.
      const theirs = JSON.stringify({ pid: live.pid, host: hostname(), since: 'just now' })
      let swapped = false
      spy.before = (name, args) => {
        if (!swapped && (name === 'renameSync' || name === 'unlinkSync') && String(args[0]) === lock) {
          swapped = true
          spy.real.unlinkSync(lock)
          writeFileSync(lock, theirs)
        }
      }
      await expect(fileStorage({ dir }).open()).rejects.toThrow(`owned by process ${String(live.pid)}`)
      expect(swapped).toBe(true)
      expect(readFileSync(lock, 'utf8')).toBe(theirs)
      expect(readdirSync(dir)).toEqual(['LOCK'])
    } finally {
      live.kill('SIGKILL')
    }
  })
})
