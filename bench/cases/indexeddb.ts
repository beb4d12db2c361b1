/** IndexedDB in Chromium. */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Measurement } from './shared.js'
import { tempDir } from './shared.js'

/**
 * celeriac's durable sends against one raw transaction of the same number of records, measured
 * in one Chromium page, alternating (bench/fixtures/idb-page.ts): the ratio, and both rates.
 */
export async function celeriacIndexedDBEnqueue(n: number): Promise<Measurement> {
  const { bundle, serve, CHROMIUM, CHROMIUM_ARGS } = await import('../../test/browser/harness.js')
  const { chromium } = await import('playwright-core')
  const out = tempDir()
  const page = join(out, 'index.html')
  const { writeFileSync } = await import('node:fs')
  writeFileSync(page, '<!doctype html><html><body><script type="module" src="./idb-page.js"></script></body></html>')
  await bundle([new URL('../fixtures/idb-page.ts', import.meta.url).pathname], out)
  const server = await serve([out])
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  try {
    const tab = await browser.newPage()
    await tab.goto(`${server.url}index.html`)
    await tab.waitForSelector('body[data-ready="yes"]', { state: 'attached' })
    const { celeriac, floor } = await tab.evaluate(
      ([size, pairs]) =>
        (globalThis as unknown as { idbBench: { sideBySide(n: number, pairs: number): Promise<{ celeriac: number; floor: number }> } }).idbBench.sideBySide(
          size,
          pairs,
        ),
      [n, 4] as const,
    )
    return { value: celeriac / floor, extra: { celeriacSendsPerSec: celeriac, floorSendsPerSec: floor } }
  } finally {
    await browser.close()
    await server.close()
    rmSync(out, { recursive: true, force: true })
  }
}

export async function chromiumUnavailable(): Promise<string | undefined> {
  const { chromiumMissing } = await import('../../test/browser/harness.js')
  return chromiumMissing()
}
