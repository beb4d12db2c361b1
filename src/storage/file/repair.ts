/**
 * What recovery does with damage it finds: without `repair`, a StorageError naming the file, the
 * offset and what to do, with nothing changed on disk; with it, the damaged file is moved (never
 * deleted) into a backup folder `repair-<time>/` inside the directory, and recovery goes on with
 * what is intact.
 */
import { basename, join } from 'node:path'
import { StorageError } from '../../core/model/errors.js'
import { fileError, fsyncDirectory } from './durable-io.js'
import type { FileSystem } from './fs.js'

export class DamagedFiles {
  readonly #fs: FileSystem
  readonly #dir: string
  readonly #repair: boolean
  readonly #onWarning: (message: string) => void
  #folder: string | undefined

  constructor(fs: FileSystem, dir: string, repair: boolean, onWarning: (message: string) => void) {
    this.#fs = fs
    this.#dir = dir
    this.#repair = repair
    this.#onWarning = onWarning
  }

  /**
   * `path` is damaged (`problem` says how, completing "<path> …"). Throws the StorageError unless
   * repairing; then moves `path` (and `alsoAside`, which depend on it) into the backup folder.
   */
  found(path: string, problem: string, offset?: number, alsoAside: readonly string[] = []): void {
    if (!this.#repair) {
      throw new StorageError(
        `${path} ${problem}. Nothing on disk was changed. Restore the directory from a backup, or open it once with ` +
          'fileStorage({ dir, repair: true }): the damaged files are moved into a repair-<time>/ folder inside the directory ' +
          'and the store opens with what is intact',
        offset === undefined ? { path } : { path, offset },
      )
    }
    this.#onWarning(`repair: ${path} ${problem}`)
    for (const file of [path, ...alsoAside]) this.#moveAside(file, `${basename(path)} ${problem}`)
  }

  /** Whether damage is being repaired rather than refused. */
  get repairing(): boolean {
    return this.#repair
  }

  #moveAside(path: string, why: string): void {
    const fs = this.#fs
    try {
      fs.statSync(path)
    } catch {
      return // Missing (or unreadable, and then the rename would fail too): nothing to keep.
    }
    const folder = this.#backupFolder()
    const to = join(folder, basename(path))
    try {
      fs.renameSync(path, to)
      fsyncDirectory(fs, folder)
      fsyncDirectory(fs, this.#dir)
    } catch (error) {
      throw fileError(`Cannot move the damaged ${path} into ${folder}`, path, error)
    }
    this.#onWarning(`repair: moved ${path} to ${to} (${why})`)
  }

  #backupFolder(): string {
    if (this.#folder !== undefined) return this.#folder
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    for (let n = 0; ; n++) {
      const folder = join(this.#dir, `repair-${stamp}${n === 0 ? '' : `-${n}`}`)
      try {
        this.#fs.statSync(folder)
        continue // Taken (two repairs in one millisecond).
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(`Cannot create the repair folder ${folder}`, folder, error)
      }
      try {
        this.#fs.mkdirSync(folder, { recursive: true, mode: 0o700 })
      } catch (error) {
        throw fileError(`Cannot create the repair folder ${folder}`, folder, error)
      }
      this.#folder = folder
      return folder
    }
  }
}
