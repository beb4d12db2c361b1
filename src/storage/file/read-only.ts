/**
 * A file-storage directory read without opening it: the snapshot and the journals that continue
 * it are replayed into memory, as recovery does (recovery.ts), but nothing on disk is created,
 * written, renamed or deleted and `LOCK` is never taken. A torn tail is ignored, not cut off;
 * leftovers an open would remove (older journals, `snapshot.tmp`) are skipped; damage is
 * refused with the same advice an open gives. For `celeriac --dir` (the CLI), which reads a
 * directory no process owns.
 */
import { join } from 'node:path'
import { StorageError } from '../../core/model/errors.js'
import type { Records } from '../records.js'
import type { Namespace, StoredValue } from '../types.js'
import { readLockHolder } from './dir-lock.js'
import type { LockHolder } from './dir-lock.js'
import { nodeFileSystem } from './fs.js'
import type { FileStats, FileSystem } from './fs.js'
import { cutShortJournal, readJournal } from './journal.js'
import { readSnapshot, snapshotFiles } from './snapshot.js'
import { fileRecords } from './record-map.js'

/** What {@link readStorageDirectory} found. */
export interface DirectoryContents {
  readonly records: Records
  /** Who held `LOCK` when it was read: `none`, or `stale` (a process that is gone; a live owner is refused). */
  readonly lock: Exclude<LockHolder, { state: 'held' }>
  /** What an open would have fixed or warned about (a torn tail it would cut off). */
  readonly warnings: readonly string[]
}

/** Why a directory was not read: a live process owns it (`owned`), or it is no store / damaged (`unreadable`). */
export class DirectoryReadError extends StorageError {
  static {
    DirectoryReadError.prototype.name = 'DirectoryReadError'
  }
  readonly reason: 'owned' | 'unreadable'
  /** The owner's pid, when `owned` and `LOCK` names one. */
  readonly pid: number | undefined
  constructor(reason: 'owned' | 'unreadable', message: string, options: { path: string; pid?: number; cause?: unknown }) {
    super(message, { path: options.path, ...(options.cause === undefined ? {} : { cause: options.cause }) })
    this.reason = reason
    this.pid = options.pid
  }
}

/**
 * Reads the store in `dir` into memory without changing the directory. Throws
 * {@link DirectoryReadError}: `owned` when a live process holds `LOCK` (its writes are not all on
 * disk, and a compaction may replace files under the reader), `unreadable` when `dir` is not a
 * file-storage directory or is damaged.
 *
 * @example
 * const { records } = readStorageDirectory('/var/lib/myapp/celeriac')
 * records.entries('results').length
 */
export function readStorageDirectory(dir: string, fs: FileSystem = nodeFileSystem): DirectoryContents {
  const before = lockOf(dir, fs)
  const warnings: string[] = []
  let records: Records
  try {
    records = replay(dir, fs, warnings)
  } catch (error) {
    if (error instanceof DirectoryReadError) throw error
    if (error instanceof StorageError) throw new DirectoryReadError('unreadable', error.message, { path: error.path ?? dir, cause: error })
    throw new DirectoryReadError('unreadable', `Cannot read the storage directory ${dir}: ${String(error)}`, { path: dir, cause: error })
  }
  // An app that opened the directory meanwhile may have cut a tail or compacted under the reader.
  const after = lockOf(dir, fs)
  if (after.state !== before.state || (after.state === 'stale' && before.state === 'stale' && after.pid !== before.pid)) {
    throw new DirectoryReadError('owned', `The storage directory ${dir} was opened by another process while it was read; read it again`, {
      path: dir,
    })
  }
  return { records, lock: before, warnings }
}

function lockOf(dir: string, fs: FileSystem): DirectoryContents['lock'] {
  let stats: FileStats
  try {
    stats = fs.statSync(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${String(code ?? error)})`
    throw new DirectoryReadError('unreadable', `The storage directory ${dir} ${why}`, { path: dir, cause: error })
  }
  if (!stats.isDirectory()) throw new DirectoryReadError('unreadable', `${dir} is not a directory: give the dir passed to fileStorage({ dir })`, { path: dir })
  const holder = readLockHolder(dir, fs)
  if (holder.state === 'held') {
    throw new DirectoryReadError('owned', holder.message, { path: join(dir, 'LOCK'), ...(holder.pid === undefined ? {} : { pid: holder.pid }) })
  }
  return holder
}

/** The snapshot and its chain of journals, replayed into memory (recovery.ts's rules, read-only). */
function replay(dir: string, fs: FileSystem, warnings: string[]): Records {
  const journals = new Map<number, string>()
  for (const name of fs.readdirSync(dir)) {
    const match = /^journal-(\d+)\.log$/.exec(name)
    if (match !== null) journals.set(Number(match[1]), join(dir, name))
  }
  const records = fileRecords()
  const snapshotPath = join(dir, 'snapshot')
  const load = (ns: Namespace, key: string, value: StoredValue): void => void records.map(ns).set(key, value)
  const snapshot = readSnapshot(snapshotPath, snapshotFiles(fs), load, (offset) => {
    throw new StorageError(
      `${snapshotPath} is damaged at byte offset ${offset}; an app opening the directory refuses it too. ` +
        'Restore the directory from a backup, or open it once with fileStorage({ dir, repair: true })',
      { path: snapshotPath, offset },
    )
  })
  if (snapshot === undefined && journals.size === 0) {
    throw new StorageError(`${dir} holds no celeriac file storage (no snapshot, no journal-<n>.log): give the dir passed to fileStorage({ dir })`, {
      path: dir,
    })
  }
  const base = snapshot?.generation ?? 0
  const chain: Array<{ generation: number; path: string }> = []
  for (let generation = base; journals.has(generation); generation++) chain.push({ generation, path: journals.get(generation)! })
  for (const [generation, path] of journals) {
    // Older ones are folded into the snapshot (an open removes them); any other belongs elsewhere.
    if (generation >= base && !chain.some((j) => j.generation === generation)) {
      throw new StorageError(`${path} does not continue the snapshot (generation ${base}); an app opening the directory refuses it too`, { path })
    }
  }
  if (chain.length === 0) {
    throw new StorageError(`${join(dir, `journal-${base}.log`)} is missing: the snapshot (generation ${base}) is continued by it`, { path: dir })
  }
  const last = chain.at(-1)!
  // A journal whose creation was cut short (its header incomplete, nothing after it): no call is in it.
  if (cutShortJournal(fs, last.path, last.generation) !== undefined && (chain.length > 1 || snapshot === undefined)) chain.pop()
  chain.forEach(({ generation, path }, i) => {
    const read = readJournal(fs, path, generation, records)
    if (read.damagedAt !== undefined) {
      throw new StorageError(
        `${path} is damaged at byte offset ${read.damagedAt}; an app opening the directory refuses it too. ` +
          'Restore the directory from a backup, or open it once with fileStorage({ dir, repair: true })',
        { path, offset: read.damagedAt },
      )
    }
    const { goodLength, length } = read
    if (i === chain.length - 1 && goodLength < length) {
      warnings.push(
        `${path}: a torn tail of ${length - goodLength} bytes at offset ${goodLength} was ignored ` +
          '(a write its process did not finish; the next app to open the directory cuts it off)',
      )
    }
  })
  return records
}
