/**
 * One process owns a storage directory: a `LOCK` file holding the owner's pid, created with
 * O_EXCL. A lock whose process no longer exists is stale and is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync, fsyncSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { StorageError } from '../../core/errors.js'

/** Directories this process has open: a pid check cannot tell two handles of one process apart. */
const ownedHere = new Set<string>()

interface LockOwner {
  pid: number
  host: string
  since: string
}

export function lockDirectory(dir: string): () => void {
  if (ownedHere.has(dir)) {
    throw new StorageError(`The storage directory ${dir} is already open in this process; use one fileStorage per directory`)
  }
  const path = join(dir, 'LOCK')
  for (let attempt = 0; ; attempt++) {
    let fd: number
    try {
      fd = openSync(path, 'wx', 0o600)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw lockError(path, error)
      const owner = readOwner(path)
      if (owner !== undefined && isAlive(owner)) {
        throw new StorageError(
          `The storage directory ${dir} is owned by process ${String(owner.pid)} on ${owner.host} (since ${owner.since}); ` +
            'stop that app first, or remove the LOCK file if that process is gone',
        )
      }
      // Stale: its process is gone. Take it over.
      try {
        unlinkSync(path)
      } catch (unlinkError) {
        if ((unlinkError as NodeJS.ErrnoException).code !== 'ENOENT') throw lockError(path, unlinkError)
      }
      continue
    }
    const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() }
    writeSync(fd, JSON.stringify(owner))
    fsyncSync(fd)
    closeSync(fd)
    ownedHere.add(dir)
    return () => {
      ownedHere.delete(dir)
      try {
        unlinkSync(path)
      } catch {
        // Already gone: nothing to release.
      }
    }
  }
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>
    if (typeof owner.pid !== 'number') return undefined
    return { pid: owner.pid, host: String(owner.host), since: String(owner.since) }
  } catch {
    // Unreadable or half-written: the process that wrote it died while taking the lock.
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

function lockError(path: string, cause: unknown): StorageError {
  return new StorageError(`Cannot take the storage lock ${path}: ${(cause as Error).message}`, { cause })
}
