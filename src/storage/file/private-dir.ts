/**
 * The storage directory is private to its user (0700): created so, or made so when it already
 * exists and this process owns it. One owned by another user is left as it is, with a warning.
 */
import { fileError } from './durable-io.js'
import type { FileStats, FileSystem } from './fs.js'

export function makePrivateDir(fs: FileSystem, dir: string, onWarning: (message: string) => void): void {
  let existing: FileStats | undefined
  try {
    existing = fs.statSync(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(`Cannot look at the storage directory ${dir}`, dir, error)
  }
  if (existing === undefined) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    } catch (error) {
      throw fileError(`Cannot create the storage directory ${dir}`, dir, error)
    }
    return
  }
  if (!existing.isDirectory())
    throw fileError(`Cannot use ${dir} as the storage directory`, dir, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }))
  const mode = existing.mode & 0o777
  if (mode === 0o700) return
  // Windows has no uids (getuid is undefined) and no meaningful modes: nothing to do there.
  const uid = process.getuid?.()
  if (uid === undefined) return
  if (existing.uid === uid) {
    try {
      fs.chmodSync(dir, 0o700)
      return
    } catch (error) {
      onWarning(`Could not make the storage directory ${dir} private (0700): ${(error as Error).message}; it is ${mode.toString(8)}`)
      return
    }
  }
  onWarning(
    `The storage directory ${dir} belongs to uid ${String(existing.uid)}, not to this process (uid ${String(uid)}), so it is left ` +
      `${mode.toString(8)}: other users may read the jobs in it. Run the app as its owner, or make it 0700 (chmod 700 ${dir})`,
  )
}
