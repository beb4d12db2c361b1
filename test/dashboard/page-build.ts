/**
 * Builds the page script the endpoint serves (`dist/dashboard/page.js`) with esbuild, as
 * `npm run build` does with tsup, so the dashboard tests run from a source checkout.
 */
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('../../', import.meta.url))

export async function buildPageScript(): Promise<void> {
  await build({
    entryPoints: [`${root}src/dashboard/page.ts`],
    outfile: `${root}dist/dashboard/page.js`,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'error',
  })
}
