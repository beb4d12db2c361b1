/**
 * What every benchmark case shares: the built package (loaded once), the case shape, and the
 * measuring helpers more than one group of cases uses.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Config } from '../../src/index.js'
import { quantile } from '../stats.js'

// celeriac as users get it: the built package (run.ts builds it first), typed from the source.
// Measuring the source through tsx would add tsx's per-closure name helper to every task.
export const built = (file: string): string => new URL(`../../dist/${file}`, import.meta.url).href
export const { Celeriac, chain, chord, inline, memoryStorage } = (await import(built('index.js'))) as typeof import('../../src/index.js')
export const { fileStorage, threads } = (await import(built('node.js'))) as typeof import('../../src/node.js')
export const { virtualClock } = (await import(built('testing.js'))) as typeof import('../../src/testing.js')
export const { bullmqBackend } = (await import(built('bullmq.js'))) as typeof import('../../src/bullmq/index.js')
export type Celeriac = InstanceType<typeof Celeriac>

export interface Measurement {
  /** The case's metric. */
  value: number
  /** Other figures worth printing (e.g. p99 next to p50). */
  extra?: Record<string, number>
}

type Impl = (size: number) => Promise<Measurement>

export interface BenchCase {
  readonly name: string
  readonly title: string
  readonly unit: string
  readonly better: 'higher' | 'lower'
  /** Work per measurement: default and `--quick`. */
  readonly size: { full: number; quick: number }
  /** celeriac first; the rest are peers. */
  readonly impls: Readonly<Record<string, Impl>>
  /** What each side does, in a sentence or two: printed under RESULTS.md's table, so a ratio can be read. */
  readonly sides?: string
  /** What we aim for, as an advantage over the named peer (see stats.advantage). */
  readonly target?: { peer: string; advantage: number; text: string }
  /** An absolute goal for celeriac's median, when there is no peer to compare with. */
  readonly goal?: { readonly at: 'most' | 'least'; readonly value: number; readonly text: string }
  /** Rounds, when the default is too many for a slow case. */
  readonly rounds?: number
  /** Node flags the runner needs (e.g. --expose-gc). */
  readonly nodeFlags?: readonly string[]
  /** Why the case cannot run here, or undefined when it can. */
  readonly unavailable?: () => Promise<string | undefined>
}

export const here = (path: string): URL => new URL(path, import.meta.url)
/** Round trips (or tasks) every latency and thread case runs before it measures: the same for each side. */
export const WARM_UP = 1_000
export const elapsed = (start: number): number => (performance.now() - start) / 1000

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'celeriac-bench-'))
}

export async function redisUnavailable(): Promise<string | undefined> {
  const { createConnection } = await import('node:net')
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port: 6379 })
    socket.once('connect', () => {
      socket.end()
      resolve(undefined)
    })
    socket.once('error', () => resolve('Redis is not reachable on 127.0.0.1:6379 (start redis-server to run this case)'))
  })
}

/**
 * The throughput shape most cases share: an app with a trivial `bench.add`, n sends made at
 * once, timed until they are stored (`idle: false`) or all run (`idle: true`); tasks/s.
 */
export async function sendsPerSecond(config: Config, n: number, idle: boolean, warm = false): Promise<Measurement> {
  const app = new Celeriac(config)
  const add = app.task('bench.add', (a: number, b: number) => a + b)
  await app.start()
  if (warm) await warmCeleriac(app)
  const start = performance.now()
  const sends = new Array<Promise<unknown>>(n)
  for (let i = 0; i < n; i++) sends[i] = add.delay(i, i)
  await Promise.all(sends)
  if (idle) await app.whenIdle()
  const seconds = elapsed(start)
  await app.stop()
  return { value: n / seconds }
}

/** Runs `body` with a fresh temporary directory, removed afterwards. */
export async function inTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = tempDir()
  try {
    return await body(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function warmCeleriac(app: Celeriac): Promise<void> {
  const warm = []
  for (let i = 0; i < WARM_UP; i++) warm.push(app.sendTask('bench.add', [i, i]))
  await Promise.all(warm)
  await app.whenIdle()
}

export function latencies(samples: number[]): Measurement {
  return { value: quantile(samples, 0.5), extra: { p99: quantile(samples, 0.99) } }
}
