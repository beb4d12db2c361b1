/**
 * Bad input at the canvas: `signature(name, init)`, the Signature methods, and `chain()`,
 * `group()`, `chord()` with their sends. Constructors and setters throw at the call; sends reject.
 */
import { ConfigError, NotRegistered, Signature, chain, chord, group, signature } from '../../src/index.js'
import type { AnySignature } from '../../src/index.js'
import { rootMessage } from '../../src/core/canvas/expand.js'
import type { ExpandEnv } from '../../src/core/canvas/expand.js'
import type { Harness } from '../conformance/setup.js'
import type { BadInputCase } from './case.js'
import { entry } from './case.js'

/** Just enough of an app to build one message. */
const BARE_ENV: ExpandEnv = {
  now: () => 0,
  newId: () => 'a-fresh-id',
  profile: () => undefined,
  route: () => undefined,
  checkQueue: () => undefined,
}

const echo = (h: Harness, value: unknown): AnySignature => h.tasks.coreEcho.s(value) as AnySignature
const nope = (name: string): AnySignature => signature(name)

export const CANVAS_CASES: BadInputCase[] = [
  ...entry('signature(name, init)', (c) => {
    c.throws('an empty name', () => signature(''), ConfigError, 'CONFIG', 'task name')
    c.throws('a number name', () => signature(5 as never), ConfigError, 'CONFIG', 'task name')
    c.throws('init as a string', () => signature('core.echo', 'x' as never), ConfigError, 'CONFIG', 'init')
    c.throws("args as a string ('1,2')", () => signature('core.add', { args: '1,2' as never }), ConfigError, 'CONFIG', 'args')
    c.throws('kwargs', () => signature('core.add', { kwargs: { a: 1 } } as never), ConfigError, 'CONFIG', 'kwargs')
    c.throws('immutable as a string', () => signature('core.echo', { immutable: 'yes' as never }), ConfigError, 'CONFIG', 'immutable')
    c.throws('options as a string', () => signature('core.echo', { options: 'x' as never }), ConfigError, 'CONFIG', 'options')
    c.throws('priority 10', () => signature('core.echo', { options: { priority: 10 } }), ConfigError, 'CONFIG', 'priority')
    c.throws('an empty queue', () => signature('core.echo', { options: { queue: '' } }), ConfigError, 'CONFIG', 'queue')
    c.throws('headers as a string', () => signature('core.echo', { options: { headers: 'x' as never } }), ConfigError, 'CONFIG', 'headers')
    c.throws('a link that is a string', () => signature('core.echo', { options: { link: 'x' as never } }), ConfigError, 'CONFIG', 'link')
    c.throws('a NaN countdown', () => signature('core.echo', { options: { countdown: Number.NaN } }), ConfigError, 'CONFIG', 'countdown')
    c.throws('an unknown option', () => signature('core.echo', { options: { retry: true } as never }), ConfigError, 'CONFIG', 'retry')
  }),
  ...entry('Signature.fromJSON(json)', (c) => {
    const fromJSON = (json: unknown) => () => Signature.fromJSON(json as never)
    const task = { kind: 'task', task: 'core.echo', args: [1], options: {}, immutable: false }
    c.throws('null', fromJSON(null), ConfigError, 'CONFIG', 'Signature.fromJSON(json)')
    c.throws('a JSON string, not parsed', fromJSON(JSON.stringify(task)), ConfigError, 'CONFIG', 'Signature.fromJSON(json)')
    c.throws('an unknown kind', fromJSON({ ...task, kind: 'starmap' }), ConfigError, 'CONFIG', 'kind')
    c.throws('no task name', fromJSON({ ...task, task: '' }), ConfigError, 'CONFIG', 'task')
    c.throws("args as a string ('1,2')", fromJSON({ ...task, args: '1,2' }), ConfigError, 'CONFIG', 'args')
    c.throws('options as a string', fromJSON({ ...task, options: 'x' }), ConfigError, 'CONFIG', 'options')
    c.throws('a chain without tasks', fromJSON({ kind: 'chain', task: '', args: [], options: {}, immutable: false }), ConfigError, 'CONFIG', 'tasks')
    c.throws(
      'a chord without a body',
      fromJSON({ kind: 'chord', task: '', args: [], options: {}, immutable: false, tasks: [task] }),
      ConfigError,
      'CONFIG',
      '.body',
    )
    c.throws(
      'a bad node inside a group',
      fromJSON({ kind: 'group', task: '', args: [], options: {}, immutable: false, tasks: [task, { ...task, args: 5 }] }),
      ConfigError,
      'CONFIG',
      'tasks[1]',
    )
    c.throws('a bad option inside', fromJSON({ ...task, options: { priority: 10 } }), ConfigError, 'CONFIG', 'priority')
  }),
  ...entry('Signature methods', (c) => {
    c.throws('set({ priority: 10 })', (h) => echo(h, 1).set({ priority: 10 }), ConfigError, 'CONFIG', 'priority')
    c.throws('set({ countdown: -1 })', (h) => echo(h, 1).set({ countdown: -1 }), ConfigError, 'CONFIG', 'countdown')
    c.throws('set() with a string', (h) => echo(h, 1).set('x' as never), ConfigError, 'CONFIG', 'options')
    c.throws('set({ kwargs })', (h) => echo(h, 1).set({ kwargs: {} } as never), ConfigError, 'CONFIG', 'kwargs')
    c.throws('set({ expires: an invalid Date })', (h) => echo(h, 1).set({ expires: new Date('x') }), ConfigError, 'CONFIG', 'expires')
    c.throws("clone({ args: '1,2' })", (h) => echo(h, 1).clone({ args: '1,2' as never }), ConfigError, 'CONFIG', 'args')
    c.throws("clone({ options: { taskId: '' } })", (h) => echo(h, 1).clone({ options: { taskId: '' } }), ConfigError, 'CONFIG', 'taskId')
    c.throws('clone({ immutable: 1 })', (h) => echo(h, 1).clone({ immutable: 1 as never }), ConfigError, 'CONFIG', 'immutable')
    c.throws('clone() with an unknown field', (h) => echo(h, 1).clone({ argz: [] } as never), ConfigError, 'CONFIG', 'argz')
    c.throws('link() with a task name', (h) => echo(h, 1).link('core.echo' as never), ConfigError, 'CONFIG', 'link')
    c.throws('link(null)', (h) => echo(h, 1).link(null as never), ConfigError, 'CONFIG', 'link')
    c.throws('linkError() with a number', (h) => echo(h, 1).linkError(5 as never), ConfigError, 'CONFIG', 'linkError')
    c.throws('linkError() with an object', (h) => echo(h, 1).linkError({} as never), ConfigError, 'CONFIG', 'linkError')
    c.throws('pipe() with a string', (h) => echo(h, 1).pipe('x' as never), ConfigError, 'CONFIG', 'pipe(next)')
    c.throws('pipe(null)', (h) => echo(h, 1).pipe(null as never), ConfigError, 'CONFIG', 'pipe(next)')
    c.rejects("applyAsync('1,2')", (h) => echo(h, 1).applyAsync('1,2' as never), ConfigError, 'CONFIG', 'args')
    c.rejects('applyAsync with priority 10', (h) => echo(h, 1).applyAsync([], { priority: 10 }), ConfigError, 'CONFIG', 'priority')
    c.rejects('applyAsync with a string link', (h) => echo(h, 1).applyAsync([], { link: 'x' as never }), ConfigError, 'CONFIG', 'link')
    c.rejects('delay() of a task no one runs', () => nope('nope.delay').delay(), NotRegistered, 'NOT_REGISTERED', 'nope.delay')
  }),
  ...entry('chain() / group() / chord()', (c) => {
    c.throws('chain() with no step', () => (chain as () => unknown)(), ConfigError, 'CONFIG', 'chain()')
    c.throws('chain() of a string', () => chain('x' as never), ConfigError, 'CONFIG', 'step 1')
    c.throws('chain() with null as step 2', (h) => chain(echo(h, 1), null as never), ConfigError, 'CONFIG', 'step 2')
    c.throws('group(null)', () => group(null as never), ConfigError, 'CONFIG', 'group(signatures)')
    c.throws('group(5)', () => group(5 as never), ConfigError, 'CONFIG', 'group(signatures)')
    c.throws('group() of one signature, not a list', (h) => group(echo(h, 1) as never), ConfigError, 'CONFIG', 'group(signatures)')
    c.throws('group() with a string member', (h) => group([echo(h, 1), 'x' as never]), ConfigError, 'CONFIG', 'member 2')
    c.throws('chord() with a null header', (h) => chord(null as never, echo(h, 1)), ConfigError, 'CONFIG', 'header')
    c.throws('chord() with a string body', (h) => chord([echo(h, 1)], 'x' as never), ConfigError, 'CONFIG', 'body')
    c.throws('chord() with a number in the header', (h) => chord([5 as never], echo(h, 1)), ConfigError, 'CONFIG', 'header task 1')
    c.throws('chord() with a string header', (h) => chord('abc' as never, echo(h, 1)), ConfigError, 'CONFIG', 'header')
  }),
  ...entry('task.chunks(items, size)', (c) => {
    // Celery's chunks(it, n) would split a string into its characters: refused instead.
    c.throws("items as a string ('abc')", (h) => h.tasks.coreEcho.chunks('abc' as never, 2), ConfigError, 'CONFIG', 'items')
    c.throws('items as null', (h) => h.tasks.coreEcho.chunks(null as never, 2), ConfigError, 'CONFIG', 'items')
    c.throws('items as a number', (h) => h.tasks.coreEcho.chunks(5 as never, 2), ConfigError, 'CONFIG', 'items')
    c.throws('items as a plain object', (h) => h.tasks.coreEcho.chunks({ 0: 1 } as never, 2), ConfigError, 'CONFIG', 'items')
    c.throws('size 0', (h) => h.tasks.coreEcho.chunks([1] as never, 0), ConfigError, 'CONFIG', 'size')
    c.throws('a negative size', (h) => h.tasks.coreEcho.chunks([1] as never, -2), ConfigError, 'CONFIG', 'size')
    c.throws('a fractional size', (h) => h.tasks.coreEcho.chunks([1] as never, 1.5), ConfigError, 'CONFIG', 'size')
    c.throws('a NaN size', (h) => h.tasks.coreEcho.chunks([1] as never, Number.NaN), ConfigError, 'CONFIG', 'size')
    c.throws('an infinite size', (h) => h.tasks.coreEcho.chunks([1] as never, Number.POSITIVE_INFINITY), ConfigError, 'CONFIG', 'size')
    c.throws("size as a string ('2')", (h) => h.tasks.coreEcho.chunks([1] as never, '2' as never), ConfigError, 'CONFIG', 'size')
    c.throws('no size', (h) => (h.tasks.coreEcho.chunks as (items: unknown) => unknown)([1]), ConfigError, 'CONFIG', 'size')
  }),
  ...entry('message building (an invariant no public call reaches)', (c) => {
    // A given taskId is never replaced by a fresh one: a caller would hold a handle to nothing.
    c.throws("an empty taskId given to a task's message", () => rootMessage('core.echo', [], { taskId: '' }, BARE_ENV), ConfigError, 'CONFIG', 'taskId')
  }),
  ...entry('chain / group / chord sends', (c) => {
    c.rejects("chain applyAsync('1,2')", (h) => chain(echo(h, 1), echo(h, 2)).applyAsync('1,2' as never), ConfigError, 'CONFIG', 'args')
    c.rejects('chain applyAsync with priority 10', (h) => chain(echo(h, 1), echo(h, 2)).applyAsync([], { priority: 10 }), ConfigError, 'CONFIG', 'priority')
    c.rejects('group applyAsync with a negative countdown', (h) => group([echo(h, 1)]).applyAsync([], { countdown: -1 }), ConfigError, 'CONFIG', 'countdown')
    c.rejects('group applyAsync with options as a string', (h) => group([echo(h, 1)]).applyAsync([], 'x' as never), ConfigError, 'CONFIG', 'options')
    c.rejects(
      'chord applyAsync with a NaN expires',
      (h) => chord([echo(h, 1)], echo(h, 2)).applyAsync([], { expires: Number.NaN }),
      ConfigError,
      'CONFIG',
      'expires',
    )
    c.rejects('a chain step no one runs', (h) => chain(echo(h, 1), nope('nope.step')).delay(), NotRegistered, 'NOT_REGISTERED', 'chain step 2')
    c.rejects('a group member no one runs', (h) => group([echo(h, 1), nope('nope.member')]).delay(), NotRegistered, 'NOT_REGISTERED', 'group member 2')
    c.rejects(
      'a chord header task no one runs',
      (h) => chord([echo(h, 1), nope('nope.header')], echo(h, 2)).delay(),
      NotRegistered,
      'NOT_REGISTERED',
      'nope.header',
    )
    c.rejects('a chord body no one runs', (h) => chord([echo(h, 1)], nope('nope.body')).delay(), NotRegistered, 'NOT_REGISTERED', 'chord body')
    c.rejects(
      'a link on a chain step to a task no one runs',
      (h) => chain(echo(h, 1), echo(h, 2).set({ link: nope('nope.stepLink') })).delay(),
      NotRegistered,
      'NOT_REGISTERED',
      'nope.stepLink',
    )
    c.rejects(
      "a chain's linkError to a task no one runs",
      (h) => chain(echo(h, 1), echo(h, 2)).applyAsync([], { linkError: nope('nope.chainErrback') }),
      NotRegistered,
      'NOT_REGISTERED',
      'errback',
    )
    c.rejects(
      'a group piped into a body no one runs',
      (h) =>
        group([echo(h, 1)])
          .pipe(nope('nope.piped'))
          .delay(),
      NotRegistered,
      'NOT_REGISTERED',
      'nope.piped',
    )
  }),
]
