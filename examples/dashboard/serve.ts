/**
 * The live dashboard over a small app with something to watch: a report built as a chord of
 * chunks that report progress, every few seconds, and now and then a task that fails. On file
 * storage in ./.celeriac-dashboard/ (or DIR).
 *
 *   npx tsx examples/dashboard/serve.ts       then open the URL it prints (Ctrl+C stops)
 *
 * PORT (default 8556) and CELERIAC_TOKEN (default: a random one) may be set. From a source
 * checkout the page's script is built here with esbuild when `npm run build` has not made it.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { Celeriac, ConfigError, chord, fileStorage, serve, shutdownOnSignals } from '../../src/node.js'
import type { Task } from '../../src/node.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const pageScript = `${root}dist/dashboard/page.js`
if (!existsSync(pageScript)) {
  await build({
    entryPoints: [`${root}src/dashboard/page.ts`],
    outfile: pageScript,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'error',
  })
}

const app = new Celeriac({
  name: 'reports',
  storage: fileStorage({ dir: process.env.DIR ?? './.celeriac-dashboard' }),
  queues: { default: { concurrency: 3 }, emails: { concurrency: 1 } },
})
const chunk = app.task('report.chunk', { bind: true }, async (self: Task, part: number, rows: number) => {
  for (let done = 0; done < rows; done += 50) {
    self.progress(done, rows)
    await new Promise((resolve) => setTimeout(resolve, 150 + part * 40))
  }
  return rows
})
const total = app.task('report.total', (counts: number[]) => counts.reduce((a, b) => a + b, 0))
const email = app.task('mail.send', (to: string) => {
  if (to.endsWith('.invalid')) throw new TypeError(`no mail server for ${to}`)
  return `sent to ${to}`
})

const port = Number(process.env.PORT ?? 8556)
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a port number (0 for any free one), got ${JSON.stringify(process.env.PORT)}`)
  process.exit(2)
}

await app.start()
const token = process.env.CELERIAC_TOKEN ?? randomBytes(24).toString('base64url')
const endpoint = await serve(app, { port, token }).catch(async (error: unknown) => {
  // A busy port (or a bad option) is said in a line with the way out, not a stack trace.
  if (!(error instanceof ConfigError)) throw error
  console.error(`${error.message}; pick another port: PORT=${port + 1} npx tsx examples/dashboard/serve.ts`)
  await app.stop()
  process.exit(1)
})
console.log(`dashboard: ${endpoint.url}/dashboard/#token=${encodeURIComponent(token)}`)

let round = 0
const work = async (): Promise<void> => {
  round++
  await chord(
    [1, 2, 3, 4].map((part) => chunk.s(part, 400)),
    total.s(),
  ).delay()
  await email.applyAsync([round % 2 === 0 ? 'ops@mail.invalid' : 'ada@example.com'], { queue: 'emails' })
}
await work()
setInterval(() => void work(), 6_000).unref()
shutdownOnSignals(app) // Ctrl+C: the app stops and the process ends, the endpoint with it
