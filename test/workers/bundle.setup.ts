/**
 * globalSetup of the node project: compiles the worker_threads entry, the task modules the tests
 * hand to `threads()` and the scripts they spawn (`bundled.ts` lists them) into one ESM bundle
 * (esbuild, shared chunks), once per run, into a temporary directory (NOTES.md, "Compiled once
 * per run: workers and children of the tests"). The code is the same sources, compiled as tsx
 * compiles them (esbuild); one bundle for all the entries keeps a single copy of celeriac in a
 * worker, as the worker needs (it finds the tasks its module registered).
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { TestProject } from 'vitest/node'
import { BUNDLED, WORKER_ENTRY } from './bundled.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

declare module 'vitest' {
  export interface ProvidedContext {
    /** The directory of the test bundle: `<dir>/node-worker.mjs`, `<dir>/<path of a .ts source, as .mjs>`. */
    workerBundle: string
  }
}

async function compile(outdir: string): Promise<void> {
  await build({
    absWorkingDir: root,
    entryPoints: [{ in: WORKER_ENTRY, out: 'node-worker' }, ...BUNDLED.map((path) => ({ in: path, out: path.replace(/\.ts$/, '') }))],
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // npm packages stay packages (resolved through the symlink below), as in a user's app.
    packages: 'external',
    // Error classes and task functions keep their names (esbuild renames clashing ones).
    keepNames: true,
    // Beside the code, not in it: an inline map is parsed by every worker start (~25 ms of CPU
    // of ~165 here) and Node reads maps only with --enable-source-maps, which then finds these.
    sourcemap: 'linked',
    logLevel: 'warning',
  })
}

export default async function setup(project: TestProject): Promise<() => void> {
  const outdir = mkdtempSync(join(tmpdir(), 'celeriac-worker-bundle-'))
  symlinkSync(join(root, 'node_modules'), join(outdir, 'node_modules'), 'dir')
  await compile(outdir)
  project.provide('workerBundle', outdir)
  // Watch mode: a rerun recompiles, so workers run the sources as they are now.
  project.onTestsRerun(() => compile(outdir))
  return () => rmSync(outdir, { recursive: true, force: true })
}
