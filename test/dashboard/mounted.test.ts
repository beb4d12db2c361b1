/**
 * The dashboard mounted in a browser app's own page (`mountDashboard` + `appSource`) over an
 * app on IndexedDB, in Chromium: chord progress, pause, revoke, retry, filters, unmount.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import type { Page } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { CHROMIUM, CHROMIUM_ARGS, bundle, chromiumMissing, serve } from '../browser/harness.js'

const missing = chromiumMissing()
const here = fileURLToPath(new URL('./fixtures/', import.meta.url))
const artifacts = fileURLToPath(new URL('../browser/artifacts/', import.meta.url))

interface Dash {
  chord(): Promise<string>
  open(name: string): void
  slowAdd(): Promise<string>
  fail(): Promise<string>
  state(id: string): Promise<string>
  get(id: string): Promise<unknown>
  paused(queue: string): boolean | undefined
  unmount(): void
}
const dash = <T>(page: Page, fn: (d: Dash) => T | Promise<T>): Promise<T> => page.evaluate(`(${fn.toString()})(window.dash)`) as Promise<T>

describe.skipIf(missing !== undefined)(`mounted dashboard${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  const out = mkdtempSync(join(tmpdir(), 'celeriac-dash-page-'))
  afterAll(() => rmSync(out, { recursive: true, force: true }))

  it('follows an app on IndexedDB in the same page', async () => {
    await bundle([join(here, 'mounted.ts')], out)
    const server = await serve([out, here])
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    try {
      const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
      const errors: string[] = []
      page.on('pageerror', (error) => errors.push(String(error)))
      await page.goto(`${server.url}mounted.html`)
      await page.waitForSelector('body[data-ready="yes"]', { state: 'attached' })
      await expect.poll(() => page.locator('.status').textContent()).toBe('live')

      const body = await dash(page, (d) => d.chord())
      await expect.poll(() => page.locator('.tasks tbody tr[data-state="PROGRESS"]').count()).toBe(3)
      await page.locator('.tasks tbody tr[data-state="PROGRESS"]').first().click()
      const workflow = page.getByRole('progressbar', { name: 'workflow progress' })
      await expect.poll(() => workflow.getAttribute('aria-valuetext')).toBe('0% (0 of 3)')
      await dash(page, (d) => d.open('a'))
      await expect.poll(() => workflow.getAttribute('aria-valuetext')).toBe('33% (1 of 3)')

      await page.getByRole('button', { name: 'Pause queue slow' }).click()
      await expect.poll(() => dash(page, (d) => d.paused('slow'))).toBe(true)
      const waiting = await dash(page, (d) => d.slowAdd())
      await page.locator(`.tasks tbody tr[data-id="${waiting}"]`).click()
      await page.getByRole('button', { name: `Revoke task ${waiting}` }).click()
      await expect.poll(() => page.evaluate(`window.dash.state(${JSON.stringify(waiting)})`)).toBe('REVOKED')
      // Retry sends it again, with a new id, into the paused queue, where it waits.
      await page.getByRole('button', { name: `Retry task ${waiting}` }).click()
      await expect.poll(() => page.locator('.message').textContent()).toMatch(/^Sent again as /)
      await page.getByRole('button', { name: 'Resume queue slow' }).click()
      await expect.poll(() => dash(page, (d) => d.paused('slow'))).toBe(false)
      await expect.poll(() => page.locator('.tasks tbody tr td.name', { hasText: 'page.add' }).count()).toBe(2)

      const failed = await dash(page, (d) => d.fail())
      await dash(page, (d) => {
        d.open('b')
        d.open('c')
      })
      await expect.poll(() => page.evaluate(`window.dash.state(${JSON.stringify(failed)})`)).toBe('FAILURE')
      // The chord's body (the handle's id) runs once the steps end.
      await expect.poll(() => page.locator(`.tasks tbody tr[data-id="${body}"]`).getAttribute('data-state')).toBe('SUCCESS')
      await page.getByRole('button', { name: 'Failed', exact: true }).click()
      await expect.poll(() => page.locator('.tasks tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.id))).toEqual([failed])
      await page.getByRole('button', { name: 'Succeeded', exact: true }).click()
      // three steps, the chord's body, and the retried add
      await expect.poll(() => page.locator('.tasks tbody tr').count()).toBe(5)
      await page.getByRole('button', { name: 'All', exact: true }).click()
      mkdirSync(artifacts, { recursive: true })
      await page.screenshot({ path: join(artifacts, 'dashboard-mounted.png') })

      await dash(page, (d) => d.unmount())
      expect(await page.locator('.celeriac-dashboard').count()).toBe(0)
      expect(errors).toEqual([])
    } finally {
      await browser.close()
      await server.close()
    }
  }, 60_000)
})
