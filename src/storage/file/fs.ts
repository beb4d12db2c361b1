/**
 * The file-system calls file storage makes, as one small interface: the default is `node:fs`; a
 * test passes its own (`fileStorage({ fs })`) to make a chosen call fail (ENOSPC, EIO) and see
 * what the storage does about it.
 */
import {
  chmodSync,
  close,
  closeSync,
  fdatasync,
  fstatSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  linkSync,
  mkdirSync,
  open,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  rename,
  renameSync,
  statSync,
  unlink,
  unlinkSync,
  write,
  writeSync,
} from 'node:fs'

/**
 * What file storage needs to know of a file: {@link FileSystem.statSync}, {@link FileSystem.fstatSync}.
 *
 * @example
 * import * as fs from 'node:fs'
 * const stats: FileStats = fs.statSync('./.jobs') // node:fs's Stats is one
 * console.log(stats.isDirectory(), stats.mode.toString(8))
 */
export interface FileStats {
  readonly dev: number
  readonly ino: number
  readonly uid: number
  readonly mode: number
  readonly mtimeMs: number
  /** Whether it is a directory. */
  isDirectory(): boolean
}

/**
 * The file-system calls of file storage, with `node:fs`'s names and meaning (errors are thrown, or
 * passed to the callback, as `node:fs` does: with an errno `code` such as `'ENOSPC'`). `node:fs`
 * itself is one; a test replaces the calls it wants to fail.
 *
 * @example
 * import * as fs from 'node:fs'
 * import { fileStorage } from 'celeriac/node'
 * // A disk whose every fdatasync fails, to see what the app does then.
 * const dying = { ...fs, fdatasync: (_fd: number, done: (e: Error) => void) => done(Object.assign(new Error('EIO'), { code: 'EIO' })) }
 * const storage = fileStorage({ dir: './.jobs', fs: dying })
 */
export interface FileSystem {
  /** `node:fs`'s `openSync`. */
  openSync(path: string, flags: 'r' | 'w' | 'wx' | 'a', mode?: number): number
  /** `node:fs`'s `closeSync`. */
  closeSync(fd: number): void
  /** Writes from `buffer[offset, offset + length)` at the descriptor's position; returns the bytes written. */
  writeSync(fd: number, buffer: Buffer, offset: number, length: number): number
  /** As `writeSync`, without blocking; `position` is always `null` (the descriptor's position). */
  write(fd: number, buffer: Buffer, offset: number, length: number, position: null, callback: (error: Error | null, written: number) => void): void
  /** `node:fs`'s `fdatasync`. */
  fdatasync(fd: number, callback: (error: Error | null) => void): void
  /** `node:fs`'s `fsyncSync`. */
  fsyncSync(fd: number): void
  /** `node:fs`'s `ftruncateSync`. */
  ftruncateSync(fd: number, length: number): void
  /** `node:fs`'s `readFileSync`. */
  readFileSync(pathOrFd: string | number): Buffer
  /** Reads into `buffer[offset, offset + length)` from the file at `position`; returns the bytes read (0 at the end). */
  readSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number
  /** `node:fs`'s `renameSync`. */
  renameSync(from: string, to: string): void
  /** `node:fs`'s `unlinkSync`. */
  unlinkSync(path: string): void
  // Asynchronous ones, for the steps of a compaction that runs while calls go on.
  /** `node:fs`'s `open`. */
  open(path: string, flags: 'r' | 'w', mode: number, callback: (error: Error | null, fd: number) => void): void
  /** `node:fs`'s `fsync`. */
  fsync(fd: number, callback: (error: Error | null) => void): void
  /** `node:fs`'s `close`. */
  close(fd: number, callback: (error: Error | null) => void): void
  /** `node:fs`'s `rename`. */
  rename(from: string, to: string, callback: (error: Error | null) => void): void
  /** `node:fs`'s `unlink`. */
  unlink(path: string, callback: (error: Error | null) => void): void
  /** `node:fs`'s `linkSync`. */
  linkSync(existing: string, created: string): void
  /** `node:fs`'s `readdirSync`. */
  readdirSync(path: string): string[]
  /** `node:fs`'s `mkdirSync`. */
  mkdirSync(path: string, options: { recursive: true; mode: number }): void
  /** `node:fs`'s `chmodSync`. */
  chmodSync(path: string, mode: number): void
  /** `node:fs`'s `statSync`. */
  statSync(path: string): FileStats
  /** `node:fs`'s `fstatSync`. */
  fstatSync(fd: number): FileStats
}

/** `node:fs` itself (each call looked up when made, so a module mock of `node:fs` sees it). */
export const nodeFileSystem: FileSystem = {
  openSync: (path, flags, mode) => openSync(path, flags, mode),
  closeSync: (fd) => closeSync(fd),
  writeSync: (fd, buffer, offset, length) => writeSync(fd, buffer, offset, length),
  write: (fd, buffer, offset, length, position, callback) => write(fd, buffer, offset, length, position, callback),
  fdatasync: (fd, callback) => fdatasync(fd, callback),
  fsyncSync: (fd) => fsyncSync(fd),
  ftruncateSync: (fd, length) => ftruncateSync(fd, length),
  readFileSync: (pathOrFd) => readFileSync(pathOrFd),
  readSync: (fd, buffer, offset, length, position) => readSync(fd, buffer, offset, length, position),
  renameSync: (from, to) => renameSync(from, to),
  unlinkSync: (path) => unlinkSync(path),
  open: (path, flags, mode, callback) => open(path, flags, mode, callback),
  fsync: (fd, callback) => fsync(fd, callback),
  close: (fd, callback) => close(fd, callback),
  rename: (from, to, callback) => rename(from, to, callback),
  unlink: (path, callback) => unlink(path, callback),
  linkSync: (existing, created) => linkSync(existing, created),
  readdirSync: (path) => readdirSync(path),
  mkdirSync: (path, options) => {
    mkdirSync(path, options)
  },
  chmodSync: (path, mode) => chmodSync(path, mode),
  statSync: (path) => statSync(path),
  fstatSync: (fd) => fstatSync(fd),
}
