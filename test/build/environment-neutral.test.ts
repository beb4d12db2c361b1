import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'

const root = new URL('../../', import.meta.url).pathname

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  )
}

describe('environment-neutral core', () => {
  it('no file under src/core imports node:* or a Node built-in', () => {
    const offenders = sources('src/core').filter((file) =>
      /from\s+['"](node:|fs|path|os|worker_threads|crypto)['"/]/.test(readFileSync(join(root, file), 'utf8')),
    )
    expect(offenders).toEqual([])
  })

  for (const entry of ['src/index.ts', 'src/browser.ts', 'src/testing.ts']) {
    it(`${entry} bundles for the browser with no Node built-ins or polyfills`, async () => {
      const result = await build({
        entryPoints: [join(root, entry)],
        bundle: true,
        platform: 'browser',
        format: 'esm',
        write: false,
        logLevel: 'silent',
      })
      expect(result.errors).toEqual([])
      const code = result.outputFiles[0]!.text
      expect(code).not.toMatch(/require\(["']node:/)
      expect(code.length).toBeGreaterThan(1000)
    })
  }
})
