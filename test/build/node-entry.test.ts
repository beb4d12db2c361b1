/**
 * The built package as Node loads it: `celeriac` resolves, under the `node` export condition, to
 * the entry that injects AsyncLocalStorage, so a plain `other.delay()` after an await inside a
 * task is that task's child; for `import` and for `require`. Builds dist/ first if it is missing
 * (test/package/built.ts: also when older than src/).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'vite'
import { beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, root } from '../package/built.js'

const body = `
const app = new Celeriac({ name: 'entry' })
const child = app.task('entry.child', { bind: true }, (self) => self.request.parentId)
const parent = app.task('entry.parent', async () => {
  await new Promise((resolve) => setImmediate(resolve))
  return (await child.delay()).id
})
await app.start()
const sent = await parent.delay()
const childId = await sent.get({ timeout: 5000 })
const childParent = await app.AsyncResult(childId).get({ timeout: 5000 })
await app.stop()
console.log(JSON.stringify({ parent: sent.id, childParent }))
`

function run(args: string[]): { parent: string; childParent: string | null } {
  const out = execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 30_000 })
  return JSON.parse(out.trim().split('\n').at(-1)!) as { parent: string; childParent: string | null }
}

describe('the Node entry of the built package', () => {
  beforeAll(async () => {
    await ensureBuilt()
  }, 600_000)

  it("import { Celeriac } from 'celeriac': a plain send after an await in a task is its child", () => {
    const result = run(['--input-type=module', '-e', `import { Celeriac } from 'celeriac'\n${body}`])
    expect(result.childParent).toBe(result.parent)
  })

  // A bundler keeps the entry's injection only if package.json says the Node entries have side
  // effects ("sideEffects"); with `false` Rollup (Vite) drops it and plain sends become roots.
  it('bundled for Node by Vite (Rollup honours "sideEffects"): the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-bundle-'))
    try {
      mkdirSync(join(dir, 'node_modules'))
      symlinkSync(root, join(dir, 'node_modules', 'celeriac'), 'dir')
      writeFileSync(join(dir, 'main.mjs'), `import { Celeriac } from 'celeriac'\n${body}`)
      await build({
        root: dir,
        logLevel: 'silent',
        configFile: false,
        ssr: { noExternal: true },
        build: { ssr: join(dir, 'main.mjs'), outDir: join(dir, 'out'), rollupOptions: { output: { entryFileNames: 'out.mjs' } } },
      })
      const result = run([join(dir, 'out', 'out.mjs')])
      expect(result.childParent).toBe(result.parent)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("require('celeriac'): the same", () => {
    const result = run(['-e', `const { Celeriac } = require('celeriac');\n(async () => {\n${body}\n})()`])
    expect(result.childParent).toBe(result.parent)
  })
})
