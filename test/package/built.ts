/**
 * dist/ as `npm run build` makes it, for the tests that exercise the built package: built first
 * when it is missing or older than a file under src/ (or tsup.config.ts, package.json), so they
 * never test yesterday's build. One build at a time: test files that run in parallel wait on a
 * lock directory instead of cleaning dist/ under each other. (CI builds once, in `npm ci`'s
 * `prepare`, so there this only looks.)
 *
 * `ensureBuilt('javascript')` is for a run that only executes dist/ (the bench, with
 * `CELERIAC_BUILD=javascript`): it counts dist/ as built without the declarations and, when it
 * builds, builds without them (tsup.config.ts reads the same variable), a fraction of the build's
 * time. Such a dist/ has no index.d.ts, so the default check never takes it for complete.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

/** The checkout's root, with a trailing slash. */
export const root = fileURLToPath(new URL('../../', import.meta.url))

// In the checkout (gitignored), not in node_modules: a copy of the checkout that links this one's
// node_modules (test/bench/fresh-clone.test.ts) builds its own dist/ and must not wait on ours.
const LOCK = join(root, '.celeriac-build-lock')
/** A lock older than this was left by a run that died mid-build. */
const STALE_LOCK_MS = 10 * 60_000

function newestUnder(path: string): number {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = 0
  for (const name of readdirSync(path)) newest = Math.max(newest, newestUnder(join(path, name)))
  return newest
}

/** What a caller needs of dist/: the whole package (declarations included) or its JavaScript. */
export type BuiltParts = 'package' | 'javascript'

// dist/node-worker.cjs is among the last files of the JavaScript passes, and the declarations
// come after them (a test that type-checks against the package needs those too).
const LAST_WRITTEN: Record<BuiltParts, readonly string[]> = {
  package: ['index.js', 'node-worker.cjs', 'index.d.ts'],
  javascript: ['index.js', 'node-worker.cjs'],
}

function builtAt(parts: BuiltParts): number {
  try {
    return Math.min(...LAST_WRITTEN[parts].map((file) => statSync(join(root, 'dist', file)).mtimeMs))
  } catch {
    return 0
  }
}

function isFresh(parts: BuiltParts): boolean {
  const sources = Math.max(newestUnder(join(root, 'src')), newestUnder(join(root, 'tsup.config.ts')), newestUnder(join(root, 'package.json')))
  return builtAt(parts) >= sources
}

/** The build's environment: CELERIAC_BUILD says what tsup.config.ts builds, whatever the shell set. */
function buildEnv(parts: BuiltParts): NodeJS.ProcessEnv {
  const { CELERIAC_BUILD: _ignored, ...env } = process.env
  return parts === 'javascript' ? { ...env, CELERIAC_BUILD: 'javascript' } : env
}

/** Whether a build holds the lock (one left by a run that died mid-build does not count). */
function building(): boolean {
  try {
    return Date.now() - statSync(LOCK).mtimeMs <= STALE_LOCK_MS
  } catch {
    return false
  }
}

function tryLock(): boolean {
  try {
    mkdirSync(LOCK)
    return true
  } catch {
    try {
      if (Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true })
    } catch {}
    return false
  }
}

/** Resolves once dist/ (the parts asked for) is at least as new as the sources, building it if needed. */
export async function ensureBuilt(parts: BuiltParts = 'package'): Promise<void> {
  // A build under way has written some files and not others: wait for its end, not for the files.
  while (!isFresh(parts) || building()) {
    if (isFresh(parts)) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      continue
    }
    if (!tryLock()) {
      // Another test file is building: wait for it (a real wait for a real build, not engine time).
      await new Promise((resolve) => setTimeout(resolve, 500))
      continue
    }
    try {
      if (!isFresh(parts)) await promisify(execFile)('npm', ['run', 'build'], { cwd: root, env: buildEnv(parts), maxBuffer: 64 * 1024 * 1024 })
    } finally {
      rmSync(LOCK, { recursive: true, force: true })
    }
  }
}
