/**
 * Builds the page script the endpoint serves (`dist/dashboard/page.js`) with esbuild, as
 * `npm run build` does with tsup, so the dashboard tests run from a source checkout. Written to a
 * temporary file and renamed into place: test files that build it at once never read half of it.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('../../', import.meta.url))

export async function buildPageScript(): Promise<void> {
  const result = await build({
    entryPoints: [`${root}src/dashboard/page.ts`],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'error',
    write: false,
  })
  const code = result.outputFiles[0]?.contents
  if (code === undefined) throw new Error('esbuild gave no output for src/dashboard/page.ts')
  mkdirSync(`${root}dist/dashboard`, { recursive: true })
  const temporary = `${root}dist/dashboard/page.js.${String(process.pid)}-${String(Date.now())}.tmp`
  writeFileSync(temporary, code)
  renameSync(temporary, `${root}dist/dashboard/page.js`)
}
