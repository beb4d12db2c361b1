/**
 * What the full test run needs besides npm packages, checked before anything runs: Debian's
 * Chromium (the browser project, ~350 tests on real IndexedDB and Web Workers), Redis on
 * 127.0.0.1:6379 (BullMQ, redisStore, the transports, Celery interop) and a Python with Celery
 * (interop with real Celery workers). A part that is missing makes its tests skip, so the run
 * says so at its start; under CI (`CI` set) it fails instead, since a green run without them
 * would hide hundreds of tests.
 */
import { existsSync } from 'node:fs'
import { findPython } from './celery/python-worker.js'
import { reachable } from './reachable.js'

/** Debian's Chromium, or the one `CELERIAC_CHROMIUM` names (the browser tests launch this path). */
export const CHROMIUM = process.env.CELERIAC_CHROMIUM ?? '/usr/bin/chromium'

export interface MissingPart {
  readonly what: string
  /** The command that installs or starts it. */
  readonly fix: string
  /** What skips without it. */
  readonly skips: string
}

/** The parts this machine lacks (empty when everything can run). */
export async function missingParts(): Promise<MissingPart[]> {
  const missing: MissingPart[] = []
  if (!existsSync(CHROMIUM)) {
    missing.push({ what: `Chromium (${CHROMIUM})`, fix: 'apt-get install -y chromium', skips: 'the chromium project and the browser tests' })
  }
  const redis = await reachable('127.0.0.1', 6379)
  if (!redis) {
    missing.push({
      what: 'Redis on 127.0.0.1:6379',
      fix: 'apt-get install -y redis-server && redis-server --daemonize yes --bind 127.0.0.1',
      skips: 'the BullMQ, redisStore, transport and Celery interop tests',
    })
  } else if (findPython() === undefined) {
    missing.push({
      what: 'a Python with Celery and redis-py',
      fix: 'apt-get install -y python3-celery python3-redis (or set CELERIAC_PYTHON)',
      skips: 'the Celery interop tests with real Python workers',
    })
  }
  return missing
}

/** Whether this run is CI's, where a missing part is a failure (`CI` set to anything but `false` or `0`). */
export function underCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0'
}

/** The lines the run starts with when parts are missing. */
export function describeMissing(missing: readonly MissingPart[], ci: boolean): string {
  const lines = missing.map((part) => `[celeriac] missing: ${part.what}; ${part.skips} ${ci ? 'cannot run' : 'will skip'}. Fix: ${part.fix}`)
  if (ci) lines.push('[celeriac] CI is set: a missing part fails the run instead of skipping its tests quietly (unset CI to run what can run here).')
  return lines.join('\n')
}
