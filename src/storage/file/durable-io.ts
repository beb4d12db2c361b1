/** The synchronous file steps the journal, the snapshot and the lock share. */
import { closeSync, fsyncSync, openSync, readFileSync, unlinkSync, write as writeCb, writeSync } from 'node:fs'
import { StorageError } from '../../core/model/errors.js'

/** Writes all of `bytes` at the descriptor's position (a write may be short). */
export function writeAllSync(fd: number, bytes: Buffer): void {
  for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, bytes.length - offset)
}

/** Creates (`'wx'`: only if absent) or replaces a 0600 file holding `bytes`, fsync'd before it returns. */
export function writeFileDurably(path: string, bytes: Buffer, flags: 'w' | 'wx' = 'w'): void {
  const fd = openSync(path, flags, 0o600)
  try {
    writeAllSync(fd, bytes)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Makes the directory's entries (a create, rename or unlink in it) durable. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // Already gone.
  }
}

/** The bytes of a file, or undefined when it does not exist. */
export function readIfExists(path: string): Buffer | undefined {
  try {
    return readFileSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new StorageError(`Cannot read ${path}: ${(error as Error).message}`, { cause: error })
  }
}

/** Writes all of `buffer` at the descriptor's position, without blocking (a write may be short). */
export function writeAll(fd: number, buffer: Buffer, done: (error: Error | null) => void, offset = 0): void {
  writeCb(fd, buffer, offset, buffer.length - offset, null, (error, written) => {
    if (error !== null) return done(error)
    if (offset + written < buffer.length) return writeAll(fd, buffer, done, offset + written)
    done(null)
  })
}
