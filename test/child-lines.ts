/**
 * What the tests that run a real child process (kill -9, signals, process lifetime) share: its
 * stdout as lines, as they come, and waiting for a line.
 */
import type { ChildProcess } from 'node:child_process'

export interface ChildLines {
  /** Every full line printed so far. */
  readonly lines: string[]
  /** The exit code (null when killed by a signal). */
  readonly exit: Promise<number | null>
  /** Resolves once a line that `matches` is printed; rejects, with stderr, if the process exits first. */
  waitFor(matches: (line: string) => boolean, what: string): Promise<void>
}

/** Reads `child`'s stdout (and stderr, for errors) as lines. */
export function childLines(child: ChildProcess): ChildLines {
  const lines: string[] = []
  const watchers: Array<{ matches: (line: string) => boolean; resolve: () => void }> = []
  let partial = ''
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n')
    partial = parts.pop()!
    for (const line of parts) {
      lines.push(line)
      for (const w of [...watchers]) {
        if (!w.matches(line)) continue
        watchers.splice(watchers.indexOf(w), 1)
        w.resolve()
      }
    }
  })
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    lines,
    exit,
    waitFor: (matches, what) =>
      new Promise<void>((resolve, reject) => {
        if (lines.some(matches)) return resolve()
        watchers.push({ matches, resolve })
        void exit.then((code) =>
          reject(new Error(`the child exited (${String(code)}) before printing ${what}; it printed ${JSON.stringify(lines.slice(-20))}\n${stderr}`)),
        )
      }),
  }
}
