/** The options of file storage, checked and defaulted. */
import { resolve } from 'node:path'
import { ConfigError } from '../../core/model/errors.js'
import { nodeFileSystem } from './fs.js'
import type { FileSystem } from './fs.js'

/**
 * Options of {@link fileStorage}.
 *
 * @example
 * const storage = fileStorage({ dir: './.jobs', durability: 'write' })
 */
export interface FileStorageOptions {
  /** The directory (created 0700 if missing). One process owns it at a time. */
  dir: string
  /**
   * - `'fsync'` (default): a call resolves once its journal frame is written and fdatasync'd:
   *   it survives a crash of the process and of the machine.
   * - `'write'`: a call resolves once its frame is handed to the OS (no fsync). It survives a
   *   crash of the process (kill -9), not a power cut or kernel crash: the last moments of work
   *   can be lost then. Several times faster on slow disks.
   * @default 'fsync'
   */
  durability?: 'fsync' | 'write'
  /**
   * Extra time (ms) a flush waits for more calls to join it, counted from the first call of its
   * batch (later calls do not extend it; calls made while a flush is on disk wait this long after
   * it). 0 batches the calls of the same tick and those made while the previous flush was on
   * disk, which is usually enough.
   * @default 0
   */
  commitWindow?: number
  /**
   * Compact (snapshot + new journal) when the journal passes this many bytes and is larger than
   * the last snapshot. @default 64 MiB
   */
  compactBytes?: number
  /**
   * The most bytes of JSON in one frame of a snapshot: a compaction writes the state in chunks of
   * this size, giving the event loop a turn between them (a single record bigger than this gets a
   * frame of its own). @default 1 MiB
   */
  snapshotChunkBytes?: number
  /**
   * Called with a warning: a torn tail cut off on open, a directory this process does not own
   * (so it cannot make it 0700), files moved aside by `repair`, a compaction that failed (it is
   * tried again later). @default console.warn
   */
  onWarning?: (message: string) => void
  /**
   * Open a damaged directory anyway: the damaged files (a journal with bad bytes in the middle, a
   * snapshot that fails its checksum, journals without their snapshot) are moved, never deleted,
   * into a backup folder `repair-<time>/` inside `dir`, and the store opens with what is intact:
   * a journal is kept up to its damage, a damaged snapshot and what depended on it are set aside
   * whole. A warning names each file moved. Without it, damage is a `StorageError` naming the
   * file and offset, and nothing on disk is touched.
   * @default false
   * @example
   * fileStorage({ dir: './.jobs', repair: true }) // once, after a StorageError said the dir is damaged
   */
  repair?: boolean
  /**
   * The host name of a machine whose `LOCK` on this directory may be taken over (a pid on another
   * machine cannot be checked from here, so such a lock is otherwise refused). Set it only when
   * no app on that machine uses the directory, e.g. after moving the directory between machines.
   * @example
   * fileStorage({ dir: '/mnt/shared/jobs', takeOverLockFrom: 'old-box' })
   */
  takeOverLockFrom?: string
  /**
   * The file-system calls to make, for tests and fault injection (fail a chosen `writeSync` or
   * `fdatasync` with ENOSPC to see what the app does). @default node:fs
   * @example
   * import * as fs from 'node:fs'
   * fileStorage({ dir, fs: { ...fs, fdatasync: (_fd, done) => done(Object.assign(new Error('EIO'), { code: 'EIO' })) } })
   */
  fs?: FileSystem
}

/** The options with their defaults applied, `dir` absolute. */
export interface ResolvedOptions {
  dir: string
  durability: 'fsync' | 'write'
  commitWindow: number
  compactBytes: number
  snapshotChunkBytes: number
  onWarning: (message: string) => void
  repair: boolean
  takeOverLockFrom: string | undefined
  fs: FileSystem
}

export function resolveOptions(options: FileStorageOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object' || typeof options.dir !== 'string' || options.dir.length === 0) {
    throw new ConfigError("fileStorage({ dir }): dir must be the path of a directory, e.g. fileStorage({ dir: './.jobs' })")
  }
  const durability = options.durability ?? 'fsync'
  if (durability !== 'fsync' && durability !== 'write') {
    throw new ConfigError(`fileStorage: durability must be 'fsync' or 'write', got ${String(durability)}`)
  }
  const commitWindow = options.commitWindow ?? 0
  if (!Number.isFinite(commitWindow) || commitWindow < 0) throw new ConfigError('fileStorage: commitWindow must be a number of ms >= 0')
  if (options.repair !== undefined && typeof options.repair !== 'boolean') throw new ConfigError('fileStorage: repair must be true or false')
  if (options.takeOverLockFrom !== undefined && (typeof options.takeOverLockFrom !== 'string' || options.takeOverLockFrom.length === 0)) {
    throw new ConfigError("fileStorage: takeOverLockFrom must be a host name, e.g. takeOverLockFrom: 'old-box'")
  }
  const compactBytes = options.compactBytes ?? 64 * 1024 * 1024
  if (!Number.isFinite(compactBytes) || compactBytes <= 0) throw new ConfigError('fileStorage: compactBytes must be a positive number of bytes')
  const snapshotChunkBytes = options.snapshotChunkBytes ?? 1024 * 1024
  if (!Number.isFinite(snapshotChunkBytes) || snapshotChunkBytes <= 0) {
    throw new ConfigError('fileStorage: snapshotChunkBytes must be a positive number of bytes, e.g. 1048576 (1 MiB)')
  }
  return {
    dir: resolve(options.dir),
    durability,
    commitWindow,
    compactBytes,
    snapshotChunkBytes,
    onWarning: options.onWarning ?? ((message) => console.warn(`[celeriac] ${message}`)),
    repair: options.repair === true,
    takeOverLockFrom: options.takeOverLockFrom,
    fs: options.fs ?? nodeFileSystem,
  }
}
