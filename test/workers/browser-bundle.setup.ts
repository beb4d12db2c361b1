/**
 * globalSetup of the chromium project: bundles each Web Worker script the browser tests start
 * (esbuild, one self-contained module each) and provides its text; `bundledWorker(url)` in
 * the page turns it into a blob: URL. Served by the test runner, a worker fetched each of the
 * ~100 modules of celeriac and its tasks again (a request, a revalidation) for every worker of
 * every test: about 1 s a test (NOTES.md, "Worker bundles for the tests").
 */
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { TestProject } from 'vitest/node'
import { BROWSER_WORKERS } from './browser-bundled.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

declare module 'vitest' {
  export interface ProvidedContext {
    /** Each bundled Web Worker script's code, by its path from the repository root. */
    browserWorkers: Record<string, string>
  }
}

async function compile(): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const entry of BROWSER_WORKERS) {
    const result = await build({
      absWorkingDir: root,
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      // As the test runner's own transform leaves the sources (Chromium runs them as written).
      target: 'esnext',
      keepNames: true,
      sourcemap: 'inline',
      logLevel: 'warning',
    })
    out[entry] = result.outputFiles[0]!.text
  }
  return out
}

export default async function setup(project: TestProject): Promise<void> {
  project.provide('browserWorkers', await compile())
  // Watch mode: a rerun rebundles, so workers run the sources as they are now.
  project.onTestsRerun(async () => project.provide('browserWorkers', await compile()))
}
