/**
 * One process owns a storage directory: a `LOCK` file holding the owner's pid, host and a random
 * token; `close()` removes `LOCK` only while it still holds that token.
 *
 * The owner record is written and fsync'd to a temp file first, then hard-linked as `LOCK` (a
 * link fails if `LOCK` exists, as O_EXCL does), so a `LOCK` is never seen empty or half-written:
 * no process can take a lock from one that is between creating it and writing its pid. A lock
 * whose process no longer exists is stale and is taken over: it is renamed aside and removed
 * only if it is still the file that was judged stale, so two processes taking over the same
 * stale lock cannot both win (the loser puts the winner's lock back and sees it held). A lock
 * of another host cannot be judged from here: it is refused unless `takeOverLockFrom` names that host.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { StorageError } from '../../core/model/errors.js'
import { fileError, unlinkQuietly, writeFileDurably } from './durable-io.js'
import type { FileStats, FileSystem } from './fs.js'

/** Directories this process has open: a pid check cannot tell two handles of one process apart. */
const ownedHere = new Set<string>()

/**
 * An unreadable `LOCK` younger than this counts as held: on a file system without hard links the
 * lock is created and then written, and its writer may be between the two.
 */
const UNREADABLE_GRACE_MS = 10_000

/** Rounds of "create, find it taken by a dead process, set it aside" before giving up. */
const ATTEMPTS = 8

interface LockOwner {
  pid: number
  host: string
  since: string
  /** Random, one per open: tells this open's lock from a later owner's (absent in older locks). */
  token?: string
}

/** How {@link lockDirectory} works: the file system, where warnings go, whose locks it may take over. */
export interface LockOptions {
  readonly fs: FileSystem
  readonly onWarning: (message: string) => void
  /** A host whose lock may be taken over (see FileStorageOptions.takeOverLockFrom). */
  readonly takeOverLockFrom: string | undefined
}

interface FoundLock {
  readonly text: string
  /** Undefined when the file is empty or not a lock record. */
  readonly owner: LockOwner | undefined
  readonly stats: FileStats
}

/** Takes the directory's lock; returns its release. */
export function lockDirectory(dir: string, options: LockOptions): () => void {
  if (ownedHere.has(dir)) {
    throw new StorageError(`The storage directory ${dir} is already open in this process; use one fileStorage per directory`, { path: dir })
  }
  const { fs } = options
  const path = join(dir, 'LOCK')
  const token = randomUUID()
  const record = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString(), token } satisfies LockOwner)
  const tmp = join(dir, `LOCK.${process.pid}.tmp`)
  try {
    writeFileDurably(fs, tmp, Buffer.from(record), 'w')
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (create(fs, tmp, path, record)) {
        ownedHere.add(dir)
        removeLeftovers(fs, dir)
        return () => {
          ownedHere.delete(dir)
          release(path, token, options)
        }
      }
      const found = look(fs, path)
      if (found === undefined) continue // Released meanwhile: try again.
      if (isHeld(found, options.takeOverLockFrom)) throw ownedError(dir, path, found.owner)
      setAside(fs, path, found)
    }
    throw new StorageError(`Cannot take the storage lock ${path}: other processes kept taking it at the same time; try again`, { path })
  } catch (error) {
    throw error instanceof StorageError ? error : lockError(path, error)
  } finally {
    unlinkQuietly(fs, tmp)
  }
}

/** Who holds a directory's `LOCK`, as {@link readLockHolder} judges it without touching it. */
export type LockHolder =
  | { readonly state: 'none' }
  /** A process that is gone (this host) left it: the next open takes it over. */
  | { readonly state: 'stale'; readonly pid: number | undefined; readonly host: string | undefined }
  /** A live process (or one that cannot be judged: another host, a lock being written) owns it; `message` says which. */
  | { readonly state: 'held'; readonly pid: number | undefined; readonly host: string | undefined; readonly message: string }

/**
 * Reads `LOCK` and judges it as {@link lockDirectory} would, changing nothing: no lock is taken,
 * none set aside. For a reader that must not read the directory while its owner writes to it.
 */
export function readLockHolder(dir: string, fs: FileSystem): LockHolder {
  const path = join(dir, 'LOCK')
  const found = look(fs, path)
  if (found === undefined) return { state: 'none' }
  const { owner } = found
  if (ownedHere.has(dir)) {
    const message = `The storage directory ${dir} is open in this process (${String(process.pid)}); read it through that fileStorage`
    return { state: 'held', pid: process.pid, host: hostname(), message }
  }
  if (!isHeld(found, undefined)) return { state: 'stale', pid: owner?.pid, host: owner?.host }
  return { state: 'held', pid: owner?.pid, host: owner?.host, message: ownedError(dir, path, owner).message }
}

/**
 * Removes `LOCK` if it still holds this open's token. Another process may have taken the
 * directory over meanwhile (someone removed `LOCK` by hand, or named this host in
 * takeOverLockFrom): its lock is left in place.
 */
function release(path: string, token: string, { fs, onWarning }: LockOptions): void {
  let found: FoundLock | undefined
  try {
    found = look(fs, path)
  } catch {
    return // Unreadable: leave it; the next open judges it.
  }
  if (found === undefined) return
  if (found.owner?.token === token) return unlinkQuietly(fs, path)
  onWarning(
    `${path} no longer holds this process's lock (it names process ${String(found.owner?.pid)} on ${String(found.owner?.host)}): ` +
      'another process took the directory over while this one had it open; LOCK is left in place',
  )
}

/** Creates `LOCK` holding `record`, atomically; false if it exists. */
function create(fs: FileSystem, tmp: string, path: string, record: string): boolean {
  try {
    fs.linkSync(tmp, path)
    return true
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw lockError(path, error)
  }
  // No hard links here (FAT, some network shares): create exclusively, then write. The moment
  // between the two is covered by UNREADABLE_GRACE_MS.
  try {
    writeFileDurably(fs, path, Buffer.from(record), 'wx')
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw lockError(path, error)
  }
}

/** The lock file's owner and identity (read through one descriptor), or undefined if it is gone. */
function look(fs: FileSystem, path: string): FoundLock | undefined {
  let fd: number
  try {
    fd = fs.openSync(path, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw lockError(path, error)
  }
  try {
    const text = fs.readFileSync(fd).toString('utf8')
    return { text, owner: parseOwner(text), stats: fs.fstatSync(fd) }
  } finally {
    fs.closeSync(fd)
  }
}

function isHeld({ owner, stats }: FoundLock, takeOverLockFrom: string | undefined): boolean {
  if (owner === undefined) return Date.now() - stats.mtimeMs < UNREADABLE_GRACE_MS
  if (owner.host !== hostname() && owner.host === takeOverLockFrom) return false
  return isAlive(owner)
}

/**
 * Removes a stale `LOCK`, unless another process replaced it after it was judged stale: rename
 * is atomic, so whoever moves the file aside owns that file, and its identity and contents tell
 * which one it was (contents too, as a freed inode number can be reused at once).
 */
function setAside(fs: FileSystem, path: string, judged: FoundLock): void {
  const aside = `${path}.${process.pid}.stale`
  try {
    fs.renameSync(path, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return // Someone else set it aside first.
    throw lockError(path, error)
  }
  const moved = look(fs, aside)
  if (moved !== undefined && (moved.stats.ino !== judged.stats.ino || moved.stats.dev !== judged.stats.dev || moved.text !== judged.text)) {
    // A fresh lock of the process that took over first: put it back (unless yet another took
    // `LOCK` meanwhile, in which case that one stands).
    try {
      fs.linkSync(aside, path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        try {
          fs.renameSync(aside, path)
        } catch {
          // `LOCK` was taken meanwhile; the file set aside is removed below.
        }
      }
    }
  }
  unlinkQuietly(fs, aside)
}

/** Temp and set-aside files of processes killed while they took the lock. */
function removeLeftovers(fs: FileSystem, dir: string): void {
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch {
    return // Only tidying: recovery lists the directory next and reports what is wrong.
  }
  for (const name of names) {
    const match = /^LOCK\.(\d+)\.(tmp|stale)$/.exec(name)
    if (match === null) continue
    const pid = Number(match[1])
    if (pid !== process.pid && !isAlive({ pid, host: hostname(), since: '' })) unlinkQuietly(fs, join(dir, name))
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(text) as Partial<LockOwner> | null
    if (typeof owner?.pid !== 'number') return undefined
    return { pid: owner.pid, host: String(owner.host), since: String(owner.since), ...(typeof owner.token === 'string' ? { token: owner.token } : {}) }
  } catch {
    return undefined
  }
}

function isAlive(owner: LockOwner): boolean {
  // A pid on another host cannot be checked from here: assume it is alive.
  if (owner.host !== hostname()) return true
  if (owner.pid === process.pid) return false
  try {
    process.kill(owner.pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function ownedError(dir: string, path: string, owner: LockOwner | undefined): StorageError {
  if (owner === undefined) {
    return new StorageError(
      `The storage directory ${dir} is being locked by another process (${path} is not written yet); ` +
        `try again, or remove the LOCK file if no app uses the directory`,
      { path },
    )
  }
  if (owner.host !== hostname()) {
    return new StorageError(
      `The storage directory ${dir} is owned by process ${String(owner.pid)} on another host, ${owner.host} (since ${owner.since}), ` +
        `which cannot be checked from here; stop that app first, or if no app on ${owner.host} uses the directory, ` +
        `open it with fileStorage({ dir, takeOverLockFrom: ${JSON.stringify(owner.host)} })`,
      { path },
    )
  }
  return new StorageError(
    `The storage directory ${dir} is owned by process ${String(owner.pid)} on ${owner.host} (since ${owner.since}); ` +
      'stop that app first, or remove the LOCK file if that process is gone',
    { path },
  )
}

function lockError(path: string, cause: unknown): StorageError {
  return fileError(`Cannot take the storage lock ${path}`, path, cause)
}
