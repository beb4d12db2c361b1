/**
 * The Web Worker scripts of the browser tests, bundled once per run by
 * `browser-bundle.setup.ts`. `bundledWorker(url)` gives a blob: URL of the bundle of the
 * script at `url`, made once per page; `webWorkers({ url })` starts workers on it.
 */
import { inject } from 'vitest'

/** Worker scripts bundled for the chromium project, relative to the repository root. */
export const BROWSER_WORKERS: readonly string[] = ['test/conformance/worker-tasks.browser.ts']

const made = new Map<string, string>()

/** A blob: URL of the bundled script at `url` (a `.ts` file in BROWSER_WORKERS). */
export function bundledWorker(url: URL): string {
  const source = BROWSER_WORKERS.find((entry) => url.pathname.endsWith(`/${entry}`))
  if (source === undefined) throw new Error(`${url.pathname} is not bundled: add it to BROWSER_WORKERS in test/workers/browser-bundled.ts`)
  let blob = made.get(source)
  if (blob === undefined) {
    blob = URL.createObjectURL(new Blob([inject('browserWorkers')[source]!], { type: 'text/javascript' }))
    made.set(source, blob)
  }
  return blob
}
