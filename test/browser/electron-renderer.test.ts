/**
 * examples/electron's renderer in Chromium (Electron's binary cannot be downloaded here): its own
 * index.html and renderer.ts, the preload's part played by a script that hands the page a port
 * at load, and the main process by a Web Worker that serves the example's tasks on it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { CHROMIUM, CHROMIUM_ARGS, bundle, chromiumMissing, pageErrors, serve } from './harness.js'

const missing = chromiumMissing()
const example = fileURLToPath(new URL('../../examples/electron/', import.meta.url))
const fixture = fileURLToPath(new URL('./fixtures/electron/main-worker.ts', import.meta.url))

/** What preload.ts and main.ts do between them: a port to the engine, posted to the page. */
const PRELOAD = `
  window.addEventListener('load', () => {
    const main = new Worker('./main-worker.js', { type: 'module' })
    const { port1, port2 } = new MessageChannel()
    main.postMessage('celeriac-port', [port1])
    window.postMessage('celeriac-port', '*', [port2])
  })
`

describe.skipIf(missing !== undefined)(`the Electron example's renderer${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  const out = mkdtempSync(join(tmpdir(), 'celeriac-electron-renderer-'))
  afterAll(() => rmSync(out, { recursive: true, force: true }))
  const errors = pageErrors()
  afterEach(() => errors.check())

  it('a double click renders one batch: the button waits for it, every bar reaches 100%', async () => {
    // One at a time, so that each lands at the top of `out` (together, under their common folder).
    await bundle([join(example, 'renderer.ts')], out)
    await bundle([fixture], out)
    const server = await serve([out, example])
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    try {
      const page = await browser.newPage()
      errors.watch(page)
      await page.addInitScript(PRELOAD)
      await page.goto(`${server.url}index.html`)
      await page.waitForSelector('#start:enabled')
      await page.dblclick('#start')
      expect(await page.isDisabled('#start')).toBe(true)
      await expect.poll(() => page.textContent('#status'), { timeout: 30_000 }).toBe('done: 6 thumbnails')
      expect(await page.isDisabled('#start')).toBe(false)
      expect(await page.locator('progress').evaluateAll((bars) => bars.map((bar) => (bar as HTMLProgressElement).value))).toEqual([
        100, 100, 100, 100, 100, 100,
      ])
      const [main] = page.workers()
      expect(await main?.evaluate(() => (globalThis as unknown as { renders: number }).renders)).toBe(6)
    } finally {
      await browser.close()
      await server.close()
    }
  }, 60_000)
})
