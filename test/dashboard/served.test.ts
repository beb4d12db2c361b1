/**
 * The dashboard the endpoint serves, in Chromium (playwright-core), over a real app on memory
 * and on file storage: a running chord shows its progress, Pause pauses a queue, Revoke
 * revokes, filters and search filter. Screenshots go to test/browser/artifacts/.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chord } from '../../src/node.js'
import { CHROMIUM, CHROMIUM_ARGS, chromiumMissing } from '../browser/harness.js'
import { ensureBuilt } from '../package/built.js'
import { TOKEN, dashboardApp } from './app.js'
import type { StorageKind } from './app.js'

const missing = chromiumMissing()
const artifacts = fileURLToPath(new URL('../browser/artifacts/', import.meta.url))

/** The state shown by the task list's rows, in order. */
async function rowStates(page: Page): Promise<string[]> {
  return page.locator('tbody tr[data-state]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.state ?? ''))
}

describe.skipIf(missing !== undefined)(`served dashboard${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  let browser: Browser
  beforeAll(async () => {
    // The endpoint serves dist/dashboard/page.js: the package's build, fresh.
    await ensureBuilt()
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    mkdirSync(artifacts, { recursive: true })
  }, 180_000)
  afterAll(async () => {
    await browser?.close()
  })

  it('says so when the token is wrong', async () => {
    const served = await dashboardApp('memory')
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    const requests: string[] = []
    page.on('request', (request) => requests.push(new URL(request.url()).pathname))
    try {
      await page.goto(`${served.endpoint.url}/dashboard/#token=not-the-token-0123456789`)
      await expect.poll(() => page.locator('.status').textContent()).toMatch(/^the endpoint refused the token/)
      expect(requests.filter((path) => path === '/v1/events')).toEqual(['/v1/events'])
    } finally {
      await page.close()
      await served.stop()
    }
  })

  for (const kind of ['memory', 'file'] satisfies StorageKind[]) {
    it(`on ${kind} storage: chord progress, pause, revoke, filters`, async () => {
      const served = await dashboardApp(kind)
      const { app, tasks, gates } = served
      const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
      const errors: string[] = []
      page.on('pageerror', (error) => errors.push(String(error)))
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(msg.text())
      })
      try {
        await page.goto(`${served.endpoint.url}/dashboard/#token=${TOKEN}`)
        await expect.poll(() => page.locator('.status').textContent()).toBe('live')
        expect(page.url()).not.toContain(TOKEN)

        // A chord of three steps, each at 1/2 and waiting for its gate.
        const handle = await chord([tasks.step.s('a'), tasks.step.s('b'), tasks.step.s('c')], tasks.sum.s()).delay()
        await expect.poll(() => page.locator('tbody tr[data-state="PROGRESS"]').count()).toBe(3)
        await page.locator('tbody tr[data-state="PROGRESS"]').first().click()
        await expect.poll(() => page.locator('.detail h3').first().textContent()).toBe('Arguments')
        const workflow = page.getByRole('progressbar', { name: 'workflow progress' })
        await expect.poll(() => workflow.getAttribute('aria-valuetext')).toBe('0% (0 of 3)')
        expect(await page.getByRole('progressbar', { name: /^progress of task/ }).getAttribute('aria-valuetext')).toBe('50% (1 of 2)')

        gates.open('a')
        await expect.poll(() => workflow.getAttribute('aria-valuetext')).toBe('33% (1 of 3)')
        await expect.poll(() => page.locator('.detail').textContent()).toContain('1 of 3 ended')
        await page.screenshot({ path: join(artifacts, `dashboard-chord-${kind}.png`) })

        // Pause: a send to the paused queue waits; Revoke revokes it.
        await page.getByRole('button', { name: 'Pause queue slow' }).click()
        await expect.poll(() => app.inspect.queues().find((q) => q.name === 'slow')?.paused).toBe(true)
        await expect.poll(() => page.locator('tr[data-queue="slow"] .state').textContent()).toBe('paused')
        const waiting = await tasks.add.applyAsync([2, 3], { queue: 'slow' })
        const row = page.locator(`tbody tr[data-id="${waiting.id}"]`)
        await row.waitFor()
        await row.focus()
        await page.keyboard.press('Enter')
        await page.getByRole('button', { name: `Revoke task ${waiting.id}` }).click()
        await expect.poll(() => waiting.state()).toBe('REVOKED')
        await expect.poll(() => row.getAttribute('data-state')).toBe('REVOKED')
        await page.getByRole('button', { name: 'Resume queue slow' }).click()
        await expect.poll(() => app.inspect.queues().find((q) => q.name === 'slow')?.paused).toBe(false)

        // Terminate stops a running task.
        const stuck = await tasks.step.delay('never')
        const stuckRow = page.locator(`.tasks tbody tr[data-id="${stuck.id}"]`)
        await expect.poll(() => stuckRow.getAttribute('data-state')).toBe('PROGRESS')
        await stuckRow.click()
        await page.getByRole('button', { name: `Terminate task ${stuck.id}` }).click()
        await expect.poll(() => stuck.state()).toBe('REVOKED')
        await expect.poll(() => stuckRow.getAttribute('data-state')).toBe('REVOKED')

        // A failure shows its traceback; the rest of the chord ends.
        const failed = await tasks.fail.delay()
        gates.open('b')
        gates.open('c')
        expect(await handle.get({ timeout: 10_000 })).toBe(3)
        await expect.poll(() => failed.state()).toBe('FAILURE')
        await expect.poll(() => page.locator(`tbody tr[data-id="${failed.id}"]`).getAttribute('data-state')).toBe('FAILURE')
        await page.locator(`tbody tr[data-id="${failed.id}"]`).click()
        await expect.poll(() => page.getByLabel('error').textContent()).toContain('out of range on purpose')
        // Retry sends it again with a new id (it fails again).
        await page.getByRole('button', { name: `Retry task ${failed.id}` }).click()
        await expect.poll(() => page.locator('.message').textContent()).toMatch(/^Sent again as /)
        await expect.poll(() => page.locator('.tasks tbody tr[data-state="FAILURE"]').count()).toBe(2)

        // Filters: each state group shows only its tasks; search by name.
        await page.getByRole('button', { name: 'Succeeded', exact: true }).click()
        await expect.poll(() => rowStates(page)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS'])
        await page.getByRole('button', { name: 'Revoked', exact: true }).click()
        await expect.poll(() => rowStates(page)).toEqual(['REVOKED', 'REVOKED'])
        await page.getByRole('button', { name: 'Failed', exact: true }).click()
        await expect.poll(() => rowStates(page)).toEqual(['FAILURE', 'FAILURE'])
        await page.getByRole('button', { name: 'All', exact: true }).click()
        await page.getByLabel('Search').fill('dash.sum')
        await expect.poll(() => page.locator('.tasks tbody tr td.name').allTextContents()).toEqual(['dash.sum'])
        // Keyboard: the table is one Tab stop; arrows move between rows, Enter opens one.
        await page.getByLabel('Search').focus()
        await page.keyboard.press('Tab')
        await page.keyboard.press('Enter')
        await expect.poll(() => page.locator('.detail dd').nth(1).textContent()).toBe('dash.sum')
        await page.getByLabel('Search').fill('dash.step')
        await expect.poll(() => page.locator('.tasks tbody tr').count()).toBe(4)
        await page.getByLabel('Search').focus()
        await page.keyboard.press('Tab')
        await page.keyboard.press('ArrowDown')
        await page.keyboard.press('ArrowDown')
        await page.keyboard.press('Enter')
        const third = await page.locator('.tasks tbody tr').nth(2).getAttribute('data-id')
        await expect.poll(() => page.locator('.detail dd').first().textContent()).toBe(third)
        await page.getByLabel('Search').fill(waiting.id.slice(0, 12))
        await expect.poll(() => page.locator('.tasks tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.id))).toEqual([waiting.id])
        await page.getByLabel('Search').fill('')
        // The queues' counts follow: nothing runs or waits any more.
        await expect.poll(() => page.locator('tr[data-queue="default"] td').allTextContents()).toEqual(['running', '0', '0', '0', expect.any(String), 'Pause'])
        await expect.poll(() => page.locator('.summary').textContent()).toMatch(/Last minute: \d+ succeeded, 2 failed/)
        await page.screenshot({ path: join(artifacts, `dashboard-${kind}.png`) })
        expect(errors).toEqual([])
      } finally {
        await page.close()
        await served.stop()
      }
    }, 60_000)
  }
})
