/**
 * `celeriac` as a user types it, for the CLI's tests: the CLI entry compiled once per run
 * (test/workers/bundled.ts; through tsx each command took 1.5-3 s to start here), spawned with
 * plain node in an environment without the user's CELERIAC_* variables.
 */
import { spawn } from 'node:child_process'
import type { ChildProcessByStdio } from 'node:child_process'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { bundledScript } from '../workers/bundled.js'

export const root = fileURLToPath(new URL('../../', import.meta.url))

/** The environment without the user's CELERIAC_* variables, plus `extra`. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CELERIAC_')))
  return { ...clean, ...extra }
}

/** Starts `celeriac ...args`. */
export function start(args: string[], extraEnv: Record<string, string> = {}): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, [bundledScript('src/cli/index.ts'), ...args], { cwd: root, env: env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Runs `celeriac ...args` to its end. */
export function celeriac(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(args, extraEnv)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}
