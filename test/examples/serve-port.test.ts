/**
 * The examples' servers on a port another server holds, as a person meets it: one line saying
 * which port is busy and how to pick another (PORT=...), and a non-zero exit, not a stack trace.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, expect, it } from 'vitest'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'celeriac-serve-port-'))
const holder = createServer()
let port = 0

beforeAll(async () => {
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  port = (holder.address() as AddressInfo).port
})
afterAll(async () => {
  await new Promise((resolve) => holder.close(resolve))
  rmSync(dir, { recursive: true, force: true })
})

async function failure(example: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, PORT: String(port), DIR: join(dir, 'jobs'), CELERIAC_TOKEN: 'port-test-token-0123456789' }
  return run(process.execPath, ['--import', 'tsx', example], { env, timeout: 60_000 }).then(
    (done) => ({ code: 0, ...done }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  )
}

it.each([
  ['examples/browser/serve.ts', (p: number) => `port ${p} is busy (another server is on it); pick another: PORT=${p + 1} npx tsx examples/browser/serve.ts\n`],
  ['examples/dashboard/serve.ts', (p: number) => `serve(): port ${p} is taken; pick another port: PORT=${p + 1} npx tsx examples/dashboard/serve.ts\n`],
])(
  '%s on a busy port says which and how to pick another, and exits 1',
  async (example, message) => {
    const { code, stderr } = await failure(example)
    expect(code).toBe(1)
    expect(stderr).toBe(message(port))
  },
  70_000,
)
