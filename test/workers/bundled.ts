/**
 * The task modules tests run in `threads()` workers, compiled once per run by
 * `bundle.setup.ts`. `bundledThreads(module)` gives the options that start workers on the
 * compiled copy of `module` instead of the TypeScript source (which workers load through tsx,
 * ~1 s each). A test that is about loading TypeScript through tsx passes the source itself.
 */
import { isAbsolute, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { inject } from 'vitest'

/** The worker_threads entry, relative to the repository root. */
export const WORKER_ENTRY = 'src/adapters/node/worker.ts'

/** Task modules compiled into the bundle, relative to the repository root. */
export const BUNDLED_MODULES: readonly string[] = [
  'test/conformance/worker-tasks.ts',
  'test/adapters/fixtures/fault-tasks.ts',
  'test/adapters/fixtures/flaky-load.ts',
  'test/storage/fixtures/lease-worker.ts',
]

const root = fileURLToPath(new URL('../..', import.meta.url))

function compiled(dir: string, source: string): URL {
  return pathToFileURL(join(dir, source.replace(/\.ts$/, '.mjs')))
}

/**
 * `{ module, workerUrl }` for `threads()`: the compiled copies of `module` (a `.ts` file listed
 * in BUNDLED_MODULES) and of the worker entry. Throws for a module the bundle does not hold.
 */
export function bundledThreads(module: URL): { module: URL; workerUrl: URL } {
  const source = relative(root, fileURLToPath(module)).split('\\').join('/')
  if (isAbsolute(source) || !BUNDLED_MODULES.includes(source)) {
    throw new Error(`${source} is not in the worker bundle: add it to BUNDLED_MODULES in test/workers/bundled.ts`)
  }
  const dir = inject('workerBundle')
  const url = compiled(dir, source)
  url.search = module.search
  return { module: url, workerUrl: compiled(dir, WORKER_ENTRY) }
}
