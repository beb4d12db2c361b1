/**
 * The parent side of the kill runs that spawn each incarnation ahead of its turn (the child side
 * is `child-go.ts`): a node process of `script` and `args`, started now, which touches its
 * storage once `go()` is called.
 */
import { spawn } from 'node:child_process'
import { childLines } from './child-lines.js'

export interface Incarnation {
  readonly lines: string[]
  readonly exit: Promise<number | null>
  /** Lets it open the storage (it starts up and then waits for this). */
  go(): void
  kill(): void
  /** Resolves when a line matching `pattern` (a whole line, for a string) is printed; rejects when the process exits first. */
  waitFor(pattern: RegExp | string): Promise<void>
}

export function spawnIncarnation(script: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Incarnation {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env })
  const { lines, exit, waitFor } = childLines(child)
  return {
    lines,
    exit,
    go: () => child.stdin.end('go\n'),
    kill: () => child.kill('SIGKILL'),
    waitFor: (pattern) => (typeof pattern === 'string' ? waitFor((line) => line === pattern, pattern) : waitFor((line) => pattern.test(line), String(pattern))),
  }
}
