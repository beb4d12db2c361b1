/**
 * The example page in Chromium, as a person uses it: queue the work, watch the bars (each with
 * the words beside it, in step), reload half-way and see it resume (the chunks cut short saying
 * so), double-click, forget the work, open a second tab. Saves screenshots to
 * test/browser/artifacts/example*.png.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { countPrimes } from '../../examples/node/dataset-tasks.js'
import { buildExample, serveExample } from '../../examples/browser/serve.js'
import { CHROMIUM, CHROMIUM_ARGS, chromiumMissing, pageErrors } from './harness.js'

const missing = chromiumMissing()
const artifacts = fileURLToPath(new URL('./artifacts/', import.meta.url))

/** Every text the role line shows, from the page's first paint on. */
const RECORD_ROLES = `
  window.roles = []
  new MutationObserver(() => {
    const text = document.getElementById('role')?.textContent
    if (text && window.roles.at(-1) !== text) window.roles.push(text)
  }).observe(document, { subtree: true, childList: true, characterData: true })
`
const roles = (page: Page): Promise<string[]> => page.evaluate(() => (window as unknown as { roles: string[] }).roles)

/** For a second of frames: rows whose bar width and words disagree (more than 1%). */
const BARS_OUT_OF_STEP = async (): Promise<string[]> => {
  const off: string[] = []
  const end = performance.now() + 1_000
  while (performance.now() < end) {
    await new Promise(requestAnimationFrame)
    for (const row of Array.from(document.querySelectorAll('.chunk'))) {
      const track = row.querySelector('.bar')!.getBoundingClientRect().width
      const width = (row.querySelector('.bar > div')!.getBoundingClientRect().width / track) * 100
      const words = row.querySelector('.state')!.textContent ?? ''
      const said = words.startsWith('SUCCESS') ? 100 : Number(/^(\d+)%/.exec(words)?.[1] ?? 0)
      if (Math.abs(width - said) > 1) off.push(`${words} beside a bar at ${width.toFixed(1)}%`)
    }
  }
  return off
}

describe.skipIf(missing !== undefined)(`example page${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  const out = mkdtempSync(join(tmpdir(), 'celeriac-example-'))
  let browser: Browser
  let server: { url: string; close(): Promise<void> }
  const errors = pageErrors()
  afterEach(() => errors.check())
  beforeAll(async () => {
    await buildExample(out)
    server = await serveExample(out)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await server?.close()
    rmSync(out, { recursive: true, force: true })
  })

  /** A page in a fresh profile (its own IndexedDB and locks), watched for errors and failed requests. */
  async function open(query: string): Promise<{ page: Page; failed: string[] }> {
    const context = await browser.newContext({ viewport: { width: 900, height: 900 } })
    await context.addInitScript(RECORD_ROLES)
    const page = await context.newPage()
    errors.watch(page)
    const failed: string[] = []
    page.on('response', (response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`)
    })
    await page.goto(`${server.url}${query}`)
    await page.waitForSelector('body[data-ready="yes"]', { state: 'attached' })
    return { page, failed }
  }

  it('processes the dataset in workers, bars in step with their words, survives a reload mid-way (cut-short chunks say "restarted") and shows the report', async () => {
    const { page, failed } = await open('?pace=2')
    try {
      await page.click('#start')
      await page.waitForFunction(() => Array.from(document.querySelectorAll('.chunk .state')).some((s) => /^[1-9]\d?%/.test(s.textContent ?? '')))
      expect(await page.evaluate(BARS_OUT_OF_STEP)).toEqual([])
      // A reload in the middle of the work: some chunks done, two running.
      await page.waitForFunction(() => Array.from(document.querySelectorAll('.chunk .state')).some((s) => s.textContent === 'SUCCESS'))
      mkdirSync(artifacts, { recursive: true })
      await page.screenshot({ path: join(artifacts, 'example.png') })
      await page.reload()
      await page.waitForSelector('.chunk .state:text-matches("restarted")', { timeout: 30_000 })
      expect(await page.evaluate(BARS_OUT_OF_STEP)).toEqual([])
      await page.waitForSelector('body[data-done="yes"]', { state: 'attached', timeout: 90_000 })
      let primes = 0
      for (let id = 1; id <= 4_000; id++) primes += countPrimes(2_000 + (id % 500) * 20)
      expect(await page.textContent('#summary')).toBe(`Done: 16 chunks, 4000 records, ${primes} primes`)
      expect(await page.locator('.chunk .state', { hasText: 'SUCCESS' }).count()).toBe(16)
      expect(await page.locator('.chunk .state', { hasText: '(restarted)' }).count()).toBeGreaterThan(0)
      await page.screenshot({ path: join(artifacts, 'example-done.png') })
      // No 404 on the way, the favicon included.
      expect(failed).toEqual([])
      expect((await fetch(`${server.url}favicon.ico`)).status).toBe(204)
    } finally {
      await page.context().close()
    }
  }, 150_000)

  it('alone, the tab never says another leads; a second tab does, once it is so', async () => {
    const { page } = await open('?pace=0')
    try {
      await expect.poll(() => page.textContent('#role')).toMatch(/^This tab leads/)
      const seen = await roles(page)
      expect(seen[0]).toBe('Finding out which tab leads…')
      expect(seen.filter((text) => text.startsWith('Another tab leads'))).toEqual([])
      const second = await page.context().newPage()
      await second.goto(`${server.url}?pace=0`)
      await expect.poll(() => second.textContent('#role')).toBe('Another tab leads; this one follows.')
    } finally {
      await page.context().close()
    }
  }, 60_000)

  it('a double click queues one workflow, and the button waits for it to end', async () => {
    const { page } = await open('?pace=2')
    try {
      await page.dblclick('#start')
      await page.waitForSelector('.chunk')
      expect(await page.isDisabled('#start')).toBe(true)
      // The leader's own count: 16 chunks (and later the report), never 32.
      await expect.poll(() => page.textContent('#role')).toMatch(/\d+ running, \d+ waiting/)
      const counts = /(\d+) running, (\d+) waiting/.exec((await page.textContent('#role')) ?? '')
      expect(Number(counts?.[1]) + Number(counts?.[2])).toBe(16)
      expect(await page.locator('.chunk').count()).toBe(16)
    } finally {
      await page.context().close()
    }
  }, 60_000)

  it('"Forget the stored work" stops it: its tasks are revoked, nothing runs out of sight, not after a reload either', async () => {
    const { page } = await open('?pace=2')
    try {
      await page.click('#start')
      await page.waitForFunction(() => Array.from(document.querySelectorAll('.chunk .state')).some((s) => /^[1-9]\d?%/.test(s.textContent ?? '')))
      await page.click('#clear')
      await expect.poll(() => page.textContent('#summary')).toBe('Forgotten: its tasks were revoked.')
      expect(await page.locator('.chunk').count()).toBe(0)
      await expect.poll(() => page.textContent('#role')).toBe('This tab leads: the tasks run in its workers (nothing running or waiting).')
      expect(await page.isDisabled('#start')).toBe(false)
      await page.reload()
      await page.waitForSelector('body[data-ready="yes"]', { state: 'attached' })
      // The first thing the new leader says of its work: there is none to recover.
      await expect
        .poll(async () => (await roles(page)).find((text) => text.startsWith('This tab leads')))
        .toBe('This tab leads: the tasks run in its workers (nothing running or waiting).')
    } finally {
      await page.context().close()
    }
  }, 60_000)
})
