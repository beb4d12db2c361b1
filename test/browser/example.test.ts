/**
 * The example page in Chromium: queue the work, see progress, reload half-way, see it resume
 * and finish with the right report. Saves a screenshot to test/browser/artifacts/example.png.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { countPrimes } from '../../examples/node/dataset-tasks.js'
import { buildExample, serveExample } from '../../examples/browser/serve.js'
import { CHROMIUM, CHROMIUM_ARGS, chromiumMissing, pageErrors } from './harness.js'

const missing = chromiumMissing()
const artifacts = fileURLToPath(new URL('./artifacts/', import.meta.url))

describe.skipIf(missing !== undefined)(`example page${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  const out = mkdtempSync(join(tmpdir(), 'celeriac-example-'))
  afterAll(() => rmSync(out, { recursive: true, force: true }))
  const errors = pageErrors()
  afterEach(() => errors.check())

  it('processes the dataset in workers, survives a reload mid-way, and shows the report', async () => {
    await buildExample(out)
    const server = await serveExample(out)
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    try {
      const page = await browser.newPage({ viewport: { width: 900, height: 900 } })
      errors.watch(page)
      await page.goto(server.url)
      await page.waitForSelector('body[data-ready="yes"]', { state: 'attached' })
      await page.click('#start')
      // Some progress, then a reload in the middle of the work.
      await page.waitForFunction(() => Array.from(document.querySelectorAll('.chunk .state')).some((s) => s.textContent === 'SUCCESS'))
      mkdirSync(artifacts, { recursive: true })
      await page.screenshot({ path: join(artifacts, 'example.png') })
      await page.reload()
      await page.waitForSelector('body[data-done="yes"]', { state: 'attached', timeout: 60_000 })
      let primes = 0
      for (let id = 1; id <= 4_000; id++) primes += countPrimes(2_000 + (id % 500) * 20)
      expect(await page.textContent('#summary')).toBe(`Done: 16 chunks, 4000 records, ${primes} primes`)
      expect(await page.locator('.chunk .state', { hasText: 'SUCCESS' }).count()).toBe(16)
      await page.screenshot({ path: join(artifacts, 'example-done.png') })
    } finally {
      await browser.close()
      await server.close()
    }
  }, 120_000)
})
