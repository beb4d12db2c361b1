import { join } from 'node:path'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'

const root = new URL('../../', import.meta.url).pathname

// What src/core may import is checked in layers.test.ts (dependency-cruiser); here, the bundles.
describe('environment-neutral core', () => {
  for (const entry of ['src/index.ts', 'src/browser.ts', 'src/testing.ts', 'src/dashboard/index.ts', 'src/remote/index.ts']) {
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
