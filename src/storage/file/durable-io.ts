/** The synchronous file steps the journal, the snapshot and the lock share, over a {@link FileSystem}. */
import { StorageError } from '../../core/model/errors.js'
import type { FileSystem } from './fs.js'

/** Writes all of `bytes` at the descriptor's position (a write may be short). */
export function writeAllSync(fs: FileSystem, fd: number, bytes: Buffer): void {
  for (let offset = 0; offset < bytes.length; ) offset += fs.writeSync(fd, bytes, offset, bytes.length - offset)
}

/** Creates (`'wx'`: only if absent) or replaces a 0600 file holding `bytes`, fsync'd before it returns. */
export function writeFileDurably(fs: FileSystem, path: string, bytes: Buffer, flags: 'w' | 'wx' = 'w'): void {
  const fd = fs.openSync(path, flags, 0o600)
  try {
    writeAllSync(fs, fd, bytes)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/** Makes the directory's entries (a create, rename or unlink in it) durable. */
export function fsyncDirectory(fs: FileSystem, dir: string): void {
  const fd = fs.openSync(dir, 'r')
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

export function unlinkQuietly(fs: FileSystem, path: string): void {
  try {
    fs.unlinkSync(path)
  } catch {
    // Already gone.
  }
}

/** Closes a descriptor whose data no longer matters (the store failed, or is done with it). */
export function closeQuietly(fs: FileSystem, fd: number): void {
  try {
    fs.closeSync(fd)
  } catch {
    // A dying disk can fail a close too; the descriptor is released all the same.
  }
}

/**
 * Runs `read` on a descriptor of the file, closed after, or returns undefined when the file does
 * not exist. A failed file-system call is a StorageError naming the file; StorageErrors pass.
 */
export function readingIfExists<T>(fs: FileSystem, path: string, read: (fd: number) => T): T | undefined {
  let fd: number
  try {
    fd = fs.openSync(path, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw fileError(`Cannot read ${path}`, path, error)
  }
  try {
    return read(fd)
  } catch (error) {
    throw error instanceof StorageError ? error : fileError(`Cannot read ${path}`, path, error)
  } finally {
    closeQuietly(fs, fd)
  }
}

/** The bytes of the file from `position`, at most `limit` of them (fewer where it ends). */
export function readFrom(fs: FileSystem, fd: number, position: number, limit = Number.POSITIVE_INFINITY): Buffer {
  const chunks: Buffer[] = []
  let total = 0
  while (total < limit) {
    const chunk = Buffer.allocUnsafe(Math.min(limit - total, 1024 * 1024))
    const read = fs.readSync(fd, chunk, 0, chunk.length, position + total)
    if (read === 0) break
    chunks.push(chunk.subarray(0, read))
    total += read
  }
  return Buffer.concat(chunks, total)
}

/** Writes all of `buffer` at the descriptor's position, without blocking (a write may be short). */
export function writeAll(fs: FileSystem, fd: number, buffer: Buffer, done: (error: Error | null) => void, offset = 0): void {
  fs.write(fd, buffer, offset, buffer.length - offset, null, (error, written) => {
    if (error !== null) return done(error)
    if (offset + written < buffer.length) return writeAll(fs, fd, buffer, done, offset + written)
    done(null)
  })
}

/**
 * A failed file-system call as a StorageError that says what to do: `what` says what was being
 * done ("Cannot read …"), the errno decides the advice.
 */
export function fileError(what: string, path: string, cause: unknown): StorageError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code
  return new StorageError(`${what}: ${(cause as Error).message}. ${adviceFor(code, path)}`, { cause, path })
}

function adviceFor(code: string | undefined, path: string): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `Give the user running the app (uid ${String(process.getuid?.() ?? '?')}) read and write access to ${path} and its directory, or use another dir`
    case 'EROFS':
      return 'The file system is read-only: use a dir on a writable one'
    case 'ENOSPC':
    case 'EDQUOT':
      return 'The disk (or quota) is full: free space, then start the app again'
    case 'EIO':
      return 'The disk reported an I/O error: check it (dmesg, SMART) before trusting it again, then start the app again'
    case 'ENOTDIR':
    case 'EISDIR':
      return `Something in the way is not what it should be: check ${path}`
    case 'EMFILE':
    case 'ENFILE':
      return 'Too many open files: raise the limit (ulimit -n) or close some'
    default:
      return 'Check the directory and the disk, then start the app again'
  }
}
