/**
 * The Node examples in a terminal, as a person sees them: run under a pseudo-terminal (util-linux
 * `script`), where the progress table is redrawn in place at a frame rate, and Ctrl-C typed into
 * it (the terminal turns ^C into SIGINT) leaves a clean line that says what happens next.
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { countPrimes } from '../../examples/node/dataset-tasks.js'

const SCRIPT = '/usr/bin/script'
const run = promisify(execFile)
const ESC = '\x1b'

/** `args` of node (with tsx) in a pseudo-terminal (`rows` high); what it printed, as the terminal got it. */
function inTerminal(args: string[], env: Record<string, string>, rows?: number) {
  const node = [process.execPath, '--import', 'tsx', ...args].map((a) => `'${a}'`).join(' ')
  const command = rows === undefined ? node : `stty rows ${String(rows)} cols 100; exec ${node}`
  const child = spawn(SCRIPT, ['-qfec', command, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
  let output = ''
  const waiting: Array<() => void> = []
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString()
    for (const wake of waiting.splice(0)) wake()
  })
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    output: () => output,
    exit,
    /** Types `text` at the terminal. */
    type: (text: string) => child.stdin.write(text),
    async waitFor(matches: (output: string) => boolean): Promise<void> {
      while (!matches(output)) {
        if (child.exitCode !== null) throw new Error(`exited before the expected output:\n${output}`)
        await new Promise<void>((resolve) => waiting.push(resolve))
      }
    },
  }
}

describe.skipIf(!existsSync(SCRIPT))(`in a terminal${existsSync(SCRIPT) ? '' : ` (skipped: no ${SCRIPT}; apt-get install -y bsdutils)`}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-terminal-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('npm run demo lasts long enough to watch, and redraws its table in place at most 20 times a second', async () => {
    const demo = inTerminal(['examples/node/demo.ts'], {})
    expect(await demo.exit).toBe(0)
    const output = demo.output()
    const ms = Number(/Done in (\d+) ms/.exec(output)?.[1])
    expect(ms).toBeGreaterThanOrEqual(3_000)
    expect(ms).toBeLessThan(60_000)
    // Each frame after the first goes back up over the 8 rows; nothing else scrolls.
    const frames = output.split(`${ESC}[8A`).length
    expect(frames).toBeGreaterThan(5)
    expect(frames).toBeLessThanOrEqual((ms / 1000) * 20 + 2)
    expect(output.split('chunk 1/8 ').length - 1).toBe(frames)
    expect(output).toContain(`${ESC}[?25h`) // the cursor, hidden while drawing, is back
  }, 90_000)

  it('in a terminal shorter than the table, the done chunks fold into one line, so every frame is redrawn in place', async () => {
    const demo = inTerminal(['examples/node/demo.ts'], { RECORDS: '3000', PACE_MS: '1' }, 8)
    expect(await demo.exit).toBe(0)
    const output = demo.output()
    const ups = [...output.matchAll(new RegExp(`${ESC}\\[(\\d+)A`, 'g'))].map((match) => Number(match[1]))
    expect(ups.length).toBeGreaterThan(0)
    // Never further up than the screen is high (8 rows): nothing scrolls away frame after frame.
    expect(Math.max(...ups)).toBeLessThanOrEqual(7)
    expect(output).toContain('12/12 chunks done')
    expect(output).toMatch(/… and \d+ more/)
  }, 90_000)

  it('Ctrl-C in the desktop demo leaves a clean line saying to run again; the next run resumes under the first numbers', async () => {
    const first = inTerminal(['examples/node/desktop.ts', dir], { RECORDS: '600', CHUNK: '50', PACE_MS: '10' })
    // Stopped half-way: a chunk done, and since then one well under way (10-49%) that ^C cuts short.
    await first.waitFor((output) => {
      const done = /chunk +\d+\/12 +\[#+\] done/.exec(output)
      return done !== null && /\] [1-4]\d%/.test(output.slice(done.index))
    })
    first.type('\x03')
    expect(await first.exit).toBe(130)
    // The cursor shown again, the ^C the terminal echoed wiped, then the message.
    const tail = new RegExp(`\\[\\?25h\r${ESC}\\[K(interrupted \\((\\d+) of 12 chunks done\\); run again to resume)\r\n$`).exec(first.output())
    expect(tail, JSON.stringify(first.output().slice(-300))).not.toBeNull()
    const doneBefore = Number(tail?.[2])
    expect(doneBefore).toBeGreaterThan(0)
    expect(doneBefore).toBeLessThan(12)

    const second = await run(process.execPath, ['--import', 'tsx', 'examples/node/desktop.ts', dir], {
      env: { ...process.env, PACE_MS: '0' },
      timeout: 120_000,
    })
    const lines = second.stdout.split('\n')
    const resumed = /^Resuming in .*: (\d+)\/12 chunks done, (\d+) to go$/.exec(lines[0] ?? '')
    expect(resumed, second.stdout).not.toBeNull()
    const doneAtStart = Number(resumed?.[1])
    expect(doneAtStart).toBeGreaterThanOrEqual(doneBefore)
    // Only the chunks left finish in this run, each under its number of the first run.
    const finished = lines.flatMap((line) => /^chunk (\d+)\/12 done/.exec(line)?.[1] ?? [])
    expect(finished).toHaveLength(12 - doneAtStart)
    // The chunks cut short by Ctrl-C start over, and say so.
    expect(lines.some((line) => /^chunk \d+\/12 restarted/.test(line))).toBe(true)
    const table = lines.filter((line) => /^chunk +\d+\/12 {2}\[/.test(line))
    expect(table.map((line) => Number(/^chunk +(\d+)/.exec(line)?.[1]))).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
    expect(table.every((line) => line.endsWith('[####################] done'))).toBe(true)
    let primes = 0
    for (let id = 1; id <= 600; id++) primes += countPrimes(2_000 + (id % 500) * 20)
    expect(second.stdout).toContain(`primes: ${String(primes)}`)
  }, 180_000)
})
