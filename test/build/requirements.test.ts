/**
 * Tests that cannot go missing quietly (issue 19): a part the run needs (here Chromium, pointed
 * elsewhere with CELERIAC_CHROMIUM) is named at the start of the run with its install command;
 * under CI the run fails instead of going on green without the browser tests.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))
const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url))
/** A small, fast file to run: what is under test is what the run says before and after it. */
const args = [vitest, 'run', '--project', 'node', 'test/core/heap.test.ts']

function runVitest(env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
      resolve({ code, output: `${stderr}\n${stdout}` })
    })
  })
}

it('without Chromium, the run says so first, with the install command, and goes on', async () => {
  const { code, output } = await runVitest({ CI: '', CELERIAC_CHROMIUM: '/nonexistent/chromium' })
  expect(code).toBe(0)
  expect(output).toContain(
    '[celeriac] missing: Chromium (/nonexistent/chromium); the chromium project and the browser tests will skip. Fix: apt-get install -y chromium',
  )
  expect(output.indexOf('[celeriac] missing: Chromium')).toBeLessThan(output.indexOf('heap.test.ts'))
}, 130_000)

it('under CI, without Chromium, the run fails and says why', async () => {
  const { code, output } = await runVitest({ CI: 'true', CELERIAC_CHROMIUM: '/nonexistent/chromium' })
  expect(code).not.toBe(0)
  expect(output).toContain(
    '[celeriac] missing: Chromium (/nonexistent/chromium); the chromium project and the browser tests cannot run. Fix: apt-get install -y chromium',
  )
  expect(output).toContain('celeriac: parts the test run needs are missing')
  expect(output).not.toContain('heap.test.ts')
}, 130_000)
