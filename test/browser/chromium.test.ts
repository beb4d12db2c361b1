/**
 * celeriac in real Chromium: IndexedDB storage and the Web Worker executor, driven by
 * playwright-core. Skipped, saying why, when Debian's chromium is not installed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, CHROMIUM_ARGS, bundle, chromiumMissing, serve } from './harness.js'

const missing = chromiumMissing()
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url))

describe.skipIf(missing !== undefined)(`in Chromium${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  let browser: Browser
  let server: { url: string; close(): Promise<void> }
  let out: string

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'celeriac-browser-'))
    await bundle([join(fixtures, 'page.ts'), join(fixtures, 'worker.ts')], out)
    server = await serve([out, fixtures])
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    if (out !== undefined) rmSync(out, { recursive: true, force: true })
  })

  async function page(): Promise<Page> {
    const p = await browser.newPage()
    p.on('pageerror', (error) => console.error('page error:', error))
    await p.goto(`${server.url}index.html`)
    await p.waitForSelector('body[data-ready="yes"]', { state: 'attached' })
    return p
  }

  async function scenario<T>(name: string, ...args: unknown[]): Promise<T> {
    const p = await page()
    try {
      return (await p.evaluate(
        ([n, a]) => (globalThis as unknown as { scenarios: Record<string, (...x: unknown[]) => Promise<unknown>> }).scenarios[n as string]!(...(a as unknown[])),
        [name, args] as const,
      )) as T
    } finally {
      await p.close()
    }
  }

  it('IndexedDB storage: concurrent transacts count exactly, and a reopened handle sees every write', async () => {
    expect(await scenario('storage')).toEqual({ counter: 100, record: { ok: true } })
  })

  for (const kind of ['inline', 'webWorkers'] as const) {
    it(`indexedDB × ${kind}: send and get, chain, chord`, async () => {
      expect(await scenario('basics', kind)).toEqual({ add: 5, chain: 16, chord: 6, where: kind === 'inline' ? 'page' : 'worker', registered: true })
    })

    it(`indexedDB × ${kind}: retries with exact backoff under the virtual clock`, async () => {
      expect(await scenario('retries', kind)).toEqual({ result: 3, delays: [1_000, 2_000, 4_000] })
    })

    it(`indexedDB × ${kind}: the progress iterator yields 1..N in order`, async () => {
      expect(await scenario('progress', kind)).toEqual({ seen: [1, 2, 3, 4, 5], result: 5 })
    })
  }

  it('webWorkers: a hard time limit ends a busy loop by terminating its worker, which is replaced', async () => {
    expect(await scenario('hardLimit')).toEqual({ error: 'TimeLimitExceeded', after: 42 })
  })

  it('two tabs: one leads and consumes, the other sends and reads; when the leader closes, the other takes over', async () => {
    type Leader = { start(): Promise<boolean>; isConsumer(): boolean; send(n: number): Promise<string[]>; done(ids: string[]): Promise<number>; finish(ids: string[]): Promise<unknown> }
    const context = await browser.newContext()
    const open = async (): Promise<Page> => {
      const p = await context.newPage()
      await p.goto(`${server.url}index.html`)
      await p.waitForSelector('body[data-ready="yes"]', { state: 'attached' })
      return p
    }
    const first = await open()
    await first.evaluate(() => (globalThis as unknown as { leader: Leader }).leader.start())
    await first.waitForFunction(() => (globalThis as unknown as { leader: Leader }).leader.isConsumer())
    const second = await open()
    expect(await second.evaluate(() => (globalThis as unknown as { leader: Leader }).leader.start())).toBe(false)
    // The follower sends; the leader runs; the follower's handles see the results.
    const ids = await second.evaluate(() => (globalThis as unknown as { leader: Leader }).leader.send(30))
    await second.waitForFunction((all) => (globalThis as unknown as { leader: Leader }).leader.done(all).then((n) => n >= 3), ids)
    expect(await second.evaluate(() => (globalThis as unknown as { leader: Leader }).leader.isConsumer())).toBe(false)
    // The leader's tab closes mid-way: the follower is elected and finishes the work.
    await first.close()
    await second.waitForFunction(() => (globalThis as unknown as { leader: Leader }).leader.isConsumer())
    const outcome = (await second.evaluate((all) => (globalThis as unknown as { leader: Leader }).leader.finish(all), ids)) as Array<{
      state: string
      error: string | null
      runs: number
    }>
    await context.close()
    expect(outcome).toHaveLength(30)
    for (const task of outcome) {
      if (task.state === 'FAILURE') expect(task.error).toBe('WorkerLostError')
      else expect(task.state).toBe('SUCCESS')
      expect(task.runs).toBeLessThanOrEqual(1)
    }
    expect(outcome.filter((t) => t.state === 'SUCCESS').length).toBeGreaterThanOrEqual(28)
  }, 60_000)

  it("requires: 'online' — sent while the browser is offline, the task waits, and runs when it is back online", async () => {
    type Offline = { send(f: string): Promise<string>; state(id: string): Promise<string>; get(id: string): Promise<string>; onLine(): boolean }
    const context = await browser.newContext()
    const p = await context.newPage()
    await p.goto(`${server.url}index.html`)
    await p.waitForSelector('body[data-ready="yes"]', { state: 'attached' })
    await context.setOffline(true)
    expect(await p.evaluate(() => (globalThis as unknown as { offline: Offline }).offline.onLine())).toBe(false)
    const id = await p.evaluate(() => (globalThis as unknown as { offline: Offline }).offline.send('photo.jpg'))
    expect(await p.evaluate((i) => (globalThis as unknown as { offline: Offline }).offline.state(i), id)).toBe('PENDING')
    await context.setOffline(false)
    expect(await p.evaluate((i) => (globalThis as unknown as { offline: Offline }).offline.get(i), id)).toBe('uploaded photo.jpg')
    await context.close()
  })

  it('reload mid-way: every task is accounted for, each ran at most once, the unfinished ones finish', async () => {
    const p = await page()
    const total = 100
    expect(await p.evaluate((n) => (globalThis as unknown as { reload: { queue(n: number): Promise<number> } }).reload.queue(n), total)).toBe(total)
    // Reload at about half-way.
    await p.waitForFunction(async () => {
      const done = await (globalThis as unknown as { reload: { progress(): Promise<number> } }).reload.progress()
      return done >= 45
    })
    await p.reload()
    await p.waitForSelector('body[data-ready="yes"]', { state: 'attached' })
    const outcome = (await p.evaluate(() => (globalThis as unknown as { reload: { finish(): Promise<unknown> } }).reload.finish())) as Array<{
      state: string
      error: string | null
      runs: number
    }>
    await p.close()
    expect(outcome).toHaveLength(total)
    for (const task of outcome) {
      // acksLate is off: a task running at the reload is FAILURE WorkerLostError; every other one
      // succeeded; none ran twice.
      if (task.state === 'FAILURE') expect(task.error).toBe('WorkerLostError')
      else expect(task.state).toBe('SUCCESS')
      expect(task.runs).toBeLessThanOrEqual(1)
    }
    // At most one queue's worth (concurrency 16) was running at the reload.
    expect(outcome.filter((t) => t.state === 'SUCCESS').length).toBeGreaterThanOrEqual(total - 16)
    expect(outcome.filter((t) => t.runs === 1)).toHaveLength(total)
  }, 60_000)
})
