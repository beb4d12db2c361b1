/** The synchronous file steps the journal, the snapshot and the lock share. */
import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs'

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
