/**
 * A file system that fails a chosen call: `node:fs` underneath (real files, real fsyncs), with a
 * fault armed for the calls a test picks, as a dying disk fails them (ENOSPC, EIO).
 */
import { basename } from 'node:path'
import { nodeFileSystem } from '../../src/storage/file/fs.js'
import type { FileSystem } from '../../src/storage/file/fs.js'

/** A call about to be made: its name and the file it concerns (the path it names, or its descriptor's). */
export interface FsCall {
  readonly name: keyof FileSystem
  /** The file's base name (`journal-1.log`, `snapshot.tmp`), or the directory's path for the directory. */
  readonly file: string
}

export interface FaultyFs {
  readonly fs: FileSystem
  /** From now on, the `skip + 1`-th call `matches` accepts fails with `code`; once. */
  arm(matches: (call: FsCall) => boolean, code: string, skip?: number): void
  /** The error it threw (or passed to a callback), once it has. */
  readonly thrown: NodeJS.ErrnoException | undefined
  /** Every call made, in order, as `name file`. */
  readonly calls: string[]
}

export function faultyFs(dir: string): FaultyFs {
  const real = nodeFileSystem
  const files = new Map<number, string>()
  let fault: { matches: (call: FsCall) => boolean; code: string; skip: number } | undefined
  let thrown: NodeJS.ErrnoException | undefined
  const calls: string[] = []
  const nameOf = (path: string): string => (path === dir ? dir : basename(path))

  /** The error `call` must fail with, if the armed fault is for it. */
  const failure = (name: keyof FileSystem, target: string | number): NodeJS.ErrnoException | undefined => {
    const file = typeof target === 'number' ? (files.get(target) ?? `fd ${target}`) : nameOf(target)
    calls.push(`${name} ${file}`)
    if (fault === undefined || !fault.matches({ name, file })) return undefined
    if (fault.skip-- > 0) return undefined
    const error: NodeJS.ErrnoException = Object.assign(new Error(`${fault.code}: injected, ${name} '${file}'`), { code: fault.code, syscall: name })
    fault = undefined
    thrown = error
    return error
  }
  const check = (name: keyof FileSystem, target: string | number): void => {
    const error = failure(name, target)
    if (error !== undefined) throw error
  }

  const fs: FileSystem = {
    ...real,
    openSync(path, flags, mode) {
      check('openSync', path)
      const fd = real.openSync(path, flags, mode)
      files.set(fd, nameOf(path))
      return fd
    },
    closeSync(fd) {
      check('closeSync', fd)
      real.closeSync(fd)
    },
    writeSync(fd, buffer, offset, length) {
      check('writeSync', fd)
      return real.writeSync(fd, buffer, offset, length)
    },
    write(fd, buffer, offset, length, position, callback) {
      const error = failure('write', fd)
      if (error !== undefined) return void setImmediate(() => callback(error, 0))
      real.write(fd, buffer, offset, length, position, callback)
    },
    fdatasync(fd, callback) {
      const error = failure('fdatasync', fd)
      if (error !== undefined) return void setImmediate(() => callback(error))
      real.fdatasync(fd, callback)
    },
    fsyncSync(fd) {
      check('fsyncSync', fd)
      real.fsyncSync(fd)
    },
    ftruncateSync(fd, length) {
      check('ftruncateSync', fd)
      real.ftruncateSync(fd, length)
    },
    renameSync(from, to) {
      check('renameSync', from)
      real.renameSync(from, to)
    },
    linkSync(existing, created) {
      check('linkSync', created)
      real.linkSync(existing, created)
    },
    mkdirSync(path, options) {
      check('mkdirSync', path)
      real.mkdirSync(path, options)
    },
    chmodSync(path, mode) {
      check('chmodSync', path)
      real.chmodSync(path, mode)
    },
    readdirSync(path) {
      check('readdirSync', path)
      return real.readdirSync(path)
    },
    statSync(path) {
      check('statSync', path)
      return real.statSync(path)
    },
    readFileSync(pathOrFd) {
      check('readFileSync', pathOrFd)
      return real.readFileSync(pathOrFd)
    },
    readSync(fd, buffer, offset, length, position) {
      check('readSync', fd)
      return real.readSync(fd, buffer, offset, length, position)
    },
    // The asynchronous ones (a compaction's snapshot steps): the error goes to the callback.
    open(path, flags, mode, callback) {
      const error = failure('open', path)
      if (error !== undefined) return void setImmediate(() => callback(error, -1))
      real.open(path, flags, mode, (openError, fd) => {
        if (openError === null) files.set(fd, nameOf(path))
        callback(openError, fd)
      })
    },
    fsync(fd, callback) {
      const error = failure('fsync', fd)
      if (error !== undefined) return void setImmediate(() => callback(error))
      real.fsync(fd, callback)
    },
    close(fd, callback) {
      const error = failure('close', fd)
      // A failed close releases the descriptor all the same.
      real.close(fd, (closeError) => callback(error ?? closeError))
    },
    rename(from, to, callback) {
      const error = failure('rename', from)
      if (error !== undefined) return void setImmediate(() => callback(error))
      real.rename(from, to, callback)
    },
    unlink(path, callback) {
      const error = failure('unlink', path)
      if (error !== undefined) return void setImmediate(() => callback(error))
      real.unlink(path, callback)
    },
  }
  return {
    fs,
    arm(matches, code, skip = 0) {
      fault = { matches, code, skip }
    },
    get thrown() {
      return thrown
    },
    calls,
  }
}
