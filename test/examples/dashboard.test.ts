/**
 * examples/dashboard/serve.ts as the README runs it: it prints the dashboard's address, and the
 * page there, in Chromium, shows its chord's progress and its failed email. Saves the screenshot
 * docs/dashboard.png is taken from (test/browser/artifacts/dashboard-example.png).
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, CHROMIUM_ARGS, chromiumMissing } from '../browser/harness.js'
import { childLines } from '../child-lines.js'
import { ensureBuilt } from '../package/built.js'

const missing = chromiumMissing()
const artifacts = fileURLToPath(new URL('../browser/artifacts/', import.meta.url))

describe.skipIf(missing !== undefined)(`the dashboard example${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-dash-example-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  // The example's endpoint serves dist/dashboard/page.js: the package's build, fresh.
  beforeAll(() => ensureBuilt(), 180_000)

  it('serves the dashboard of a working app at the address it prints', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/dashboard/serve.ts'], {
      env: { ...process.env, PORT: '0', DIR: join(dir, 'jobs'), CELERIAC_TOKEN: 'example-token-0123456789' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const out = childLines(child)
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    try {
      await out.waitFor((line) => line.startsWith('dashboard: '), 'the dashboard address')
      const url = out.lines.find((line) => line.startsWith('dashboard: '))?.slice('dashboard: '.length) ?? ''
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dashboard\/#token=example-token-0123456789$/)
      const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
      await page.goto(url)
      await expect.poll(() => page.locator('.tasks tbody tr[data-state="FAILURE"] td.name').allTextContents(), { timeout: 15_000 }).toContain('mail.send')
      await expect.poll(() => page.locator('.tasks tbody tr[data-state="PROGRESS"]').count(), { timeout: 15_000 }).toBeGreaterThan(1)
      // The table redraws as events come: a row found and then clicked may have moved or ended
      // meanwhile (under load), so the click is tried again until a chunk's detail is open.
      await expect
        .poll(
          async () => {
            await page
              .locator('.tasks tbody tr[data-state="PROGRESS"]')
              .last()
              .click({ timeout: 2_000 })
              .catch(() => undefined)
            return page.getByRole('progressbar', { name: 'workflow progress' }).isVisible()
          },
          { timeout: 30_000 },
        )
        .toBe(true)
      // The queue's counts follow within a second of the events.
      await expect.poll(() => page.locator('tr[data-queue="default"] td').nth(1).textContent(), { timeout: 5_000 }).toBe('3')
      mkdirSync(artifacts, { recursive: true })
      await page.screenshot({ path: join(artifacts, 'dashboard-example.png') })
    } finally {
      await browser.close()
      child.kill('SIGINT')
      await out.exit
    }
  }, 60_000)
})
