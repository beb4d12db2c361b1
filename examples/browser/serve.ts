/**
 * Builds the example page with esbuild and serves it on 127.0.0.1.
 *
 *   npx tsx examples/browser/serve.ts        then open the URL it prints
 *   PORT=8080 npx tsx examples/browser/serve.ts      (default 5173; 0: any free port)
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const here = fileURLToPath(new URL('.', import.meta.url))

/** Bundles main.ts and worker.ts into `outdir` (ES modules; the worker is a module worker). */
export async function buildExample(outdir: string): Promise<void> {
  mkdirSync(outdir, { recursive: true })
  await build({
    entryPoints: [join(here, 'main.ts'), join(here, 'worker.ts')],
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'error',
  })
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' }

/** Serves index.html from here and the bundles from `outdir`. */
export function serveExample(outdir: string, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const path = normalize(new URL(request.url ?? '/', 'http://x').pathname).replace(/^(\.\.[/\\])+/, '')
    const name = path === '/' ? '/index.html' : path
    // The page names no icon file (its icon is inline); a browser that asks anyway gets nothing, not an error.
    if (name === '/favicon.ico') return void response.writeHead(204).end()
    for (const root of [outdir, here]) {
      const file = join(root, name)
      if (file.startsWith(root) && existsSync(file) && statSync(file).isFile()) {
        response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' })
        response.end(readFileSync(file))
        return
      }
    }
    response.writeHead(404).end()
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject) // EADDRINUSE: the port is busy
    server.listen(port, '127.0.0.1', () => {
      const address = server.address() as { port: number }
      resolve({ url: `http://127.0.0.1:${address.port}/`, close: () => new Promise((done) => server.close(() => done())) })
    })
  })
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.env.PORT ?? 5173)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`PORT must be a port number (0 for any free one), got ${JSON.stringify(process.env.PORT)}`)
    process.exit(2)
  }
  const outdir = join(here, 'dist')
  await buildExample(outdir)
  try {
    const { url } = await serveExample(outdir, port)
    console.log(`celeriac example page: ${url} (Ctrl-C to stop)`)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    console.error(`port ${port} is busy (another server is on it); pick another: PORT=${port + 1} npx tsx examples/browser/serve.ts`)
    process.exit(1)
  }
}
