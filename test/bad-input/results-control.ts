/**
 * Bad input at results (`AsyncResult(id)`, `get()`, `revoke()`), at `app.control`, and in task
 * options at `app.task(...)`. Handles and `app.task` throw at the call; the async calls reject.
 */
import { ConfigError, NotRegistered, group } from '../../src/index.js'
import type { Harness } from '../conformance/setup.js'
import type { BadInputCase } from './case.js'
import { entry } from './case.js'

/** A handle on a task that is done (its result is there, so only the options can be wrong). */
const done = async (h: Harness) => {
  const r = await h.tasks.coreEcho.delay('done')
  await r.get()
  return r
}

/** A bad task option at `app.task(name, options, fn)`: [label, options, the field the message names]. */
const BAD_TASK_OPTIONS: Array<[string, unknown, string]> = [
  ['bind as a string', { bind: 'yes' }, 'bind'],
  ["Celery's max_retries", { max_retries: 3 }, 'maxRetries'],
  ['an option no task has', { retries: 3 }, 'retries'],
  ['a send option (countdown)', { countdown: 5 }, 'countdown'],
  ['priority 10', { priority: 10 }, 'priority'],
  ['an empty queue', { queue: '' }, 'queue'],
  ['maxRetries -1', { maxRetries: -1 }, 'maxRetries'],
  ['a fractional maxRetries', { maxRetries: 1.5 }, 'maxRetries'],
  ['a rateLimit that is a word', { rateLimit: 'fast' }, 'rate'],
  ['a zero timeLimit', { timeLimit: 0 }, 'timeLimit'],
  ['a softTimeLimit over the timeLimit', { softTimeLimit: 10, timeLimit: 5 }, 'softTimeLimit'],
  ['a NaN expires', { expires: Number.NaN }, 'expires'],
  ['retryBackoff as a string', { retryBackoff: 'yes' }, 'retryBackoff'],
  ['a negative defaultRetryDelay', { defaultRetryDelay: -5 }, 'defaultRetryDelay'],
  ['acksLate as a number', { acksLate: 1 }, 'acksLate'],
  ['a lock whose key is a string', { lock: { key: 'k', ttl: 10 } }, 'lock'],
  ['a lock with a zero ttl', { lock: { key: () => 'k', ttl: 0 } }, 'lock.ttl'],
  ['requires a wifi', { requires: 'wifi' }, 'requires'],
  ['autoretryFor as a string', { autoretryFor: 'Error' }, 'autoretryFor'],
  ['a base that is not a Task', { base: Object }, 'base'],
  ['options as a string', 'fast', 'options'],
]

let named = 0

export const RESULT_AND_CONTROL_CASES: BadInputCase[] = [
  ...entry('AsyncResult(id)', (c) => {
    c.throws("app.AsyncResult('')", (h) => h.app.AsyncResult(''), ConfigError, 'CONFIG', 'task id')
    c.throws('app.AsyncResult(null)', (h) => h.app.AsyncResult(null as never), ConfigError, 'CONFIG', 'task id')
    c.throws('app.AsyncResult(5)', (h) => h.app.AsyncResult(5 as never), ConfigError, 'CONFIG', 'task id')
    c.throws("task.AsyncResult('')", (h) => h.tasks.coreEcho.AsyncResult(''), ConfigError, 'CONFIG', 'task id')
  }),
  ...entry('get()', (c) => {
    c.rejects('a NaN timeout', (h) => h.app.AsyncResult('never-sent').get({ timeout: Number.NaN }), ConfigError, 'CONFIG', 'timeout')
    c.rejects('a negative timeout', (h) => h.app.AsyncResult('never-sent').get({ timeout: -1 }), ConfigError, 'CONFIG', 'timeout')
    c.rejects('a NaN timeout on a finished task', async (h) => (await done(h)).get({ timeout: Number.NaN }), ConfigError, 'CONFIG', 'timeout')
    c.rejects("Celery's get(timeout) form", (h) => h.app.AsyncResult('never-sent').get(5000 as never), ConfigError, 'CONFIG', 'timeout')
    c.rejects('a string timeout', (h) => h.app.AsyncResult('never-sent').get({ timeout: '5s' as never }), ConfigError, 'CONFIG', 'timeout')
    c.rejects('propagate as a string', async (h) => (await done(h)).get({ propagate: 'no' as never }), ConfigError, 'CONFIG', 'propagate')
    c.rejects("Celery's interval", async (h) => (await done(h)).get({ interval: 0.5 } as never), ConfigError, 'CONFIG', 'interval')
    c.rejects('options as null', async (h) => (await done(h)).get(null as never), ConfigError, 'CONFIG', 'options')
    c.rejects(
      "a NaN timeout on a group's handle",
      async (h) => (await h.app.send(group([h.tasks.coreEcho.s(1)]))).get({ timeout: Number.NaN }),
      ConfigError,
      'CONFIG',
      'timeout',
    )
    c.rejects(
      'a NaN timeout on an empty GroupResult',
      async (h) => (await h.tasks.coreEcho.chunks([], 1).delay()).get({ timeout: Number.NaN }),
      ConfigError,
      'CONFIG',
      'timeout',
    )
  }),
  ...entry('revoke()', (c) => {
    c.rejects('terminate as a string', async (h) => (await done(h)).revoke({ terminate: 'yes' as never }), ConfigError, 'CONFIG', 'terminate')
    c.rejects('options as a string', async (h) => (await done(h)).revoke('now' as never), ConfigError, 'CONFIG', 'options')
    c.rejects("Celery's signal option", async (h) => (await done(h)).revoke({ signal: 'SIGKILL' } as never), ConfigError, 'CONFIG', 'signal')
    c.rejects(
      "a group's revoke with terminate as a number",
      async (h) => (await h.tasks.coreEcho.chunks([1] as never, 1).delay()).revoke({ terminate: 1 as never }),
      ConfigError,
      'CONFIG',
      'terminate',
    )
  }),
  ...entry('app.control', (c) => {
    c.rejects("revoke('')", (h) => h.app.control.revoke(''), ConfigError, 'CONFIG', 'task id')
    c.rejects('revoke(5)', (h) => h.app.control.revoke(5 as never), ConfigError, 'CONFIG', 'ids')
    c.rejects('revoke() with an empty id in the list', (h) => h.app.control.revoke(['a', '']), ConfigError, 'CONFIG', 'task id')
    c.rejects('revoke() with terminate as a string', (h) => h.app.control.revoke('x', { terminate: 'yes' as never }), ConfigError, 'CONFIG', 'terminate')
    c.throws("rateLimit('')", (h) => h.app.control.rateLimit('', '1/s'), ConfigError, 'CONFIG', 'task name')
    c.throws('rateLimit with a bad unit', (h) => h.app.control.rateLimit('core.echo', '10/x' as never), ConfigError, 'CONFIG', 'rate')
    c.throws('rateLimit -1', (h) => h.app.control.rateLimit('core.echo', -1), ConfigError, 'CONFIG', 'rate')
    c.throws('rateLimit NaN', (h) => h.app.control.rateLimit('core.echo', Number.NaN), ConfigError, 'CONFIG', 'rate')
    c.throws('rateLimit of a task no one runs', (h) => h.app.control.rateLimit('nope.rate', '1/s'), NotRegistered, 'NOT_REGISTERED', 'nope.rate')
    c.throws('timeLimit with a negative soft', (h) => h.app.control.timeLimit('core.echo', { soft: -1 }), ConfigError, 'CONFIG', 'soft')
    c.throws('timeLimit with soft over hard', (h) => h.app.control.timeLimit('core.echo', { soft: 10, hard: 5 }), ConfigError, 'CONFIG', 'soft')
    c.throws('timeLimit with null limits', (h) => h.app.control.timeLimit('core.echo', null as never), ConfigError, 'CONFIG', 'limits')
    c.throws('timeLimit with a misspelt limit', (h) => h.app.control.timeLimit('core.echo', { hardd: 1 } as never), ConfigError, 'CONFIG', 'hardd')
    c.throws('timeLimit of a task no one runs', (h) => h.app.control.timeLimit('nope.limit', { hard: 10 }), NotRegistered, 'NOT_REGISTERED', 'nope.limit')
    c.rejects("purge('')", (h) => h.app.control.purge(''), ConfigError, 'CONFIG', 'queue')
    c.rejects('purge(5)', (h) => h.app.control.purge(5 as never), ConfigError, 'CONFIG', 'queue')
  }),
  ...entry('app.task(name, options, fn)', (c) => {
    c.throws('an empty name', (h) => h.app.task('', () => 1), ConfigError, 'CONFIG', 'task name')
    c.throws('a number name', (h) => h.app.task(5 as never, () => 1), ConfigError, 'CONFIG', 'task name')
    c.throws('no function', (h) => h.app.task('bad.noFn', {} as never, undefined as never), ConfigError, 'CONFIG', 'function')
    c.throws('a name already registered', (h) => h.app.task('core.echo', () => 1), ConfigError, 'CONFIG', 'unique')
    for (const [label, options, field] of BAD_TASK_OPTIONS) {
      c.throws(label, (h) => h.app.task(`bad.option${String(++named)}`, options as never, () => 1), ConfigError, 'CONFIG', field)
    }
  }),
]
