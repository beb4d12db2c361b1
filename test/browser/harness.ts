/**
 * Builds browser pages with esbuild, serves them on 127.0.0.1, and drives Debian's Chromium
 * through playwright-core. Shared by the browser tests and the example page's screenshot.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize } from 'node:path'
import { build } from 'esbuild'

import { CHROMIUM } from '../requirements.js'

export { CHROMIUM }
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

/** Why the browser tests cannot run here, or undefined. */
/**
 * Uncaught errors of the pages a test opens: `watch(page)` collects them, `check()` throws naming
 * each (and forgets them), so a test whose page threw fails instead of only logging it. Call
 * `check()` in an `afterEach`.
 */
export function pageErrors(): { watch(page: { on(event: 'pageerror', listener: (error: Error) => void): unknown }): void; check(): void } {
  const seen: string[] = []
  return {
    watch(page) {
      page.on('pageerror', (error) => seen.push(`${error.name}: ${error.message}`))
    },
    check() {
      const errors = seen.splice(0)
      if (errors.length > 0) throw new Error(`uncaught error${errors.length > 1 ? 's' : ''} in the page:\n  ${errors.join('\n  ')}`)
    },
  }
}

export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install -y chromium; .ci/run does it)`
}

/** Bundles the entry points (ES modules for the browser, shared chunks split out) into `outdir`. */
export async function bundle(entryPoints: string[], outdir: string): Promise<void> {
  await build({
    entryPoints,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'inline',
    logLevel: 'error',
  })
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png' }

/** Serves the files of `roots` (first match wins) on 127.0.0.1. */
export async function serve(roots: string[]): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '')
    for (const root of roots) {
      const file = join(root, path.endsWith('/') ? `${path}index.html` : path)
      if (file.startsWith(root) && existsSync(file) && statSync(file).isFile()) {
        response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' })
        response.end(readFileSync(file))
        return
      }
    }
    response.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) }
}
