/**
 * TypeScript the tests run outside the test runner's own module graph, compiled once per run by
 * `bundle.setup.ts`: the task modules given to `threads()` and the scripts spawned as child
 * processes. Through tsx each worker or child registered tsx's loader hooks in itself (a thread
 * of their own) and transformed every module again: ~1 s a worker and 1.5-3 s a child on this
 * 2-core machine, where the compiled copy starts in a fraction of that. A test that is about
 * loading TypeScript through tsx passes the source itself.
 *
 * The bundle is laid out as an app that bundles celeriac is (tsup, esbuild): the worker entry is
 * `node-worker.mjs` next to the shared chunks, so `threads()` inside a spawned bundled script
 * finds it by itself; every other entry keeps its path from the repository root, as `.mjs`.
 */
import { join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { inject } from 'vitest'

/** The worker_threads entry, relative to the repository root; compiled to `<bundle>/node-worker.mjs`. */
export const WORKER_ENTRY = 'src/adapters/node/worker.ts'

/** Task modules (for `threads()`) and spawned scripts in the bundle, relative to the repository root. */
export const BUNDLED: readonly string[] = [
  'test/conformance/worker-tasks.ts',
  'test/adapters/fixtures/fault-tasks.ts',
  'test/adapters/fixtures/flaky-load.ts',
  'test/adapters/fixtures/idle-wait-tasks.ts',
  'test/adapters/fixtures/lifetime-app.ts',
  'test/adapters/fixtures/lifetime-tasks.ts',
  'test/storage/fixtures/lease-worker.ts',
  'test/storage/fixtures/crash-app.ts',
  'test/storage/fixtures/crash-worker.ts',
  'test/storage/fixtures/open-dir.ts',
  'test/core/fixtures/schedules-crash-app.ts',
  'test/cli/fixtures/file-app.ts',
  'src/cli/index.ts',
]

const root = fileURLToPath(new URL('../..', import.meta.url))

/** The compiled copy of `source` (a `.ts` file in BUNDLED: a file: URL, or a path from the repository root). */
function bundled(source: URL | string): URL {
  const path = relative(root, source instanceof URL ? fileURLToPath(source) : resolve(root, source))
    .split('\\')
    .join('/')
  if (!BUNDLED.includes(path)) throw new Error(`${path} is not in the test bundle: add it to BUNDLED in test/workers/bundled.ts`)
  const url = pathToFileURL(join(inject('workerBundle'), path.replace(/\.ts$/, '.mjs')))
  if (source instanceof URL) url.search = source.search
  return url
}

/** `{ module, workerUrl }` for `threads()`: the compiled copies of `module` and of the worker entry. */
export function bundledThreads(module: URL): { module: URL; workerUrl: URL } {
  return { module: bundled(module), workerUrl: pathToFileURL(join(inject('workerBundle'), 'node-worker.mjs')) }
}

/** The path of the compiled copy of the script `source`, to spawn with plain `node`. */
export function bundledScript(source: URL | string): string {
  return fileURLToPath(bundled(source))
}
