/**
 * Bad input at the sends: `task.delay`, `task.applyAsync`, `app.sendTask`, `app.send`,
 * `task.apply`, and sends from inside a running task. Sends are async: they reject.
 */
import { ConfigError, NotRegistered, SerializationError, chain, signature } from '../../src/index.js'
import type { SendOptions } from '../../src/index.js'
import type { BadInputCase } from './case.js'
import { entry, inTask } from './case.js'

class WithMethods {
  hello(): string {
    return 'hi'
  }
}

const cyclic: Record<string, unknown> = {}
cyclic.self = cyclic

/** A bad option given to `task.applyAsync`: [label, options, the field the message names]. */
const BAD_OPTIONS: Array<[string, unknown, string]> = [
  ['options as a string', 'high', 'options'],
  ['options as null', null, 'options'],
  ['options as an array', [1], 'options'],
  ['kwargs (celeriac has positional args only)', { kwargs: { a: 1 } }, 'kwargs'],
  ["Celery's task_id", { task_id: 'x' }, 'taskId'],
  ['a misspelt option', { countDown: 5 }, 'countDown'],
  ['headers as a string', { headers: 'x' }, 'headers'],
  ['headers as an array', { headers: [1] }, 'headers'],
  ['headers as a Map', { headers: new Map() }, 'headers'],
  ['headers as null', { headers: null }, 'headers'],
  ['an empty taskId', { taskId: '' }, 'taskId'],
  ['a number taskId', { taskId: 5 }, 'taskId'],
  ['a null taskId', { taskId: null }, 'taskId'],
  ['an empty queue', { queue: '' }, 'queue'],
  ['a number queue', { queue: 5 }, 'queue'],
  ['a NaN priority', { priority: Number.NaN }, 'priority'],
  ['priority -1', { priority: -1 }, 'priority'],
  ['priority 10', { priority: 10 }, 'priority'],
  ['a fractional priority', { priority: 1.5 }, 'priority'],
  ['a string priority', { priority: '5' }, 'priority'],
  ['a NaN countdown', { countdown: Number.NaN }, 'countdown'],
  ['a negative countdown', { countdown: -1 }, 'countdown'],
  ['an infinite countdown', { countdown: Number.POSITIVE_INFINITY }, 'countdown'],
  ['a string countdown', { countdown: '10' }, 'countdown'],
  ['a countdown past the last Date', { countdown: 1e300 }, 'countdown'],
  ['an eta that is a word', { eta: 'tomorrow' }, 'eta'],
  ['an invalid Date eta', { eta: new Date('nope') }, 'eta'],
  ['a NaN eta', { eta: Number.NaN }, 'eta'],
  ['an eta past the last Date', { eta: 1e20 }, 'eta'],
  ['both countdown and eta', { countdown: 10, eta: Date.now() }, 'countdown or eta'],
  ['a NaN expires', { expires: Number.NaN }, 'expires'],
  ['a negative expires', { expires: -5 }, 'expires'],
  ['an invalid Date expires', { expires: new Date('nope') }, 'expires'],
  ['an expires that is a word', { expires: 'soon' }, 'expires'],
  ['a NaN timeLimit', { timeLimit: Number.NaN }, 'timeLimit'],
  ['a zero timeLimit', { timeLimit: 0 }, 'timeLimit'],
  ['a negative timeLimit', { timeLimit: -1 }, 'timeLimit'],
  ['a negative softTimeLimit', { softTimeLimit: -1 }, 'softTimeLimit'],
  ['a softTimeLimit over the timeLimit', { softTimeLimit: 10, timeLimit: 5 }, 'softTimeLimit'],
  ['ignoreResult as a string', { ignoreResult: 'yes' }, 'ignoreResult'],
  ['a link that is a task name', { link: 'core.echo' }, 'link'],
  ['a link that is an empty object', { link: {} }, 'link'],
  ['a link list with a number in it', { link: [signature('core.echo'), 5] }, 'link[1]'],
  ['a linkError that is a number', { linkError: 5 }, 'linkError'],
  ['a linkError that is null', { linkError: null }, 'linkError'],
]

export const SEND_CASES: BadInputCase[] = [
  ...entry('task.delay', (c) => {
    c.rejects('a function argument', (h) => h.tasks.coreEcho.delay(() => 1), SerializationError, 'SERIALIZATION', 'args[0]')
    c.rejects('a function deep in an argument', (h) => h.tasks.coreEcho.delay({ a: { b: () => 1 } }), SerializationError, 'SERIALIZATION', 'args[0].a.b')
    c.rejects('a cyclic argument', (h) => h.tasks.coreEcho.delay(cyclic), SerializationError, 'SERIALIZATION', 'args[0]')
    c.rejects('a class instance with methods', (h) => h.tasks.coreEcho.delay(new WithMethods()), SerializationError, 'SERIALIZATION', 'args[0]')
    c.rejects('a symbol', (h) => h.tasks.coreEcho.delay(Symbol('s')), SerializationError, 'SERIALIZATION', 'args[0]')
  }),
  ...entry('task.applyAsync', (c) => {
    c.rejects("args as a string ('1,2')", (h) => h.tasks.coreAdd.applyAsync('1,2' as never), ConfigError, 'CONFIG', 'args')
    c.rejects('args as a number', (h) => h.tasks.coreAdd.applyAsync(5 as never), ConfigError, 'CONFIG', 'args')
    c.rejects('args as an object', (h) => h.tasks.coreAdd.applyAsync({ 0: 1, 1: 2 } as never), ConfigError, 'CONFIG', 'args')
    c.rejects('args as null', (h) => h.tasks.coreAdd.applyAsync(null as never), ConfigError, 'CONFIG', 'args')
    for (const [label, options, field] of BAD_OPTIONS) {
      c.rejects(label, (h) => h.tasks.coreEcho.applyAsync(['x'], options as SendOptions), ConfigError, 'CONFIG', field)
    }
    c.rejects(
      'headers holding a function',
      (h) => h.tasks.coreEcho.applyAsync(['x'], { headers: { f: () => 1 } }),
      SerializationError,
      'SERIALIZATION',
      'headers.f',
    )
    c.rejects(
      'a link to a task no one runs',
      (h) => h.tasks.coreEcho.applyAsync(['x'], { link: signature('nope.link') }),
      NotRegistered,
      'NOT_REGISTERED',
      'nope.link',
    )
    c.rejects(
      'a linkError to a task no one runs',
      (h) => h.tasks.coreEcho.applyAsync(['x'], { linkError: signature('nope.errback') }),
      NotRegistered,
      'NOT_REGISTERED',
      'nope.errback',
    )
    c.rejects(
      'a link whose chain names a task no one runs',
      (h) => h.tasks.coreEcho.applyAsync(['x'], { link: chain(signature('core.echo'), signature('nope.linkStep')) }),
      NotRegistered,
      'NOT_REGISTERED',
      'nope.linkStep',
    )
  }),
  ...entry('app.sendTask', (c) => {
    c.rejects('an empty name', (h) => h.app.sendTask('', []), ConfigError, 'CONFIG', 'task name')
    c.rejects('a number name', (h) => h.app.sendTask(5 as never, []), ConfigError, 'CONFIG', 'task name')
    c.rejects('a task no one runs', (h) => h.app.sendTask('nope.byName', []), NotRegistered, 'NOT_REGISTERED', 'nope.byName')
    c.rejects("args as a string ('1,2')", (h) => h.app.sendTask('core.add', '1,2' as never), ConfigError, 'CONFIG', 'args')
    c.rejects('args as an object', (h) => h.app.sendTask('core.add', { a: 1 } as never), ConfigError, 'CONFIG', 'args')
    c.rejects('priority 10', (h) => h.app.sendTask('core.echo', [1], { priority: 10 }), ConfigError, 'CONFIG', 'priority')
    c.rejects('an empty taskId', (h) => h.app.sendTask('core.echo', [1], { taskId: '' }), ConfigError, 'CONFIG', 'taskId')
    c.rejects('a null queue', (h) => h.app.sendTask('core.echo', [1], { queue: null as never }), ConfigError, 'CONFIG', 'queue')
    c.rejects(
      'a link to a task no one runs',
      (h) => h.app.sendTask('core.echo', [1], { link: signature('nope.link') }),
      NotRegistered,
      'NOT_REGISTERED',
      'nope.link',
    )
  }),
  ...entry('app.send', (c) => {
    c.rejects('a task name instead of a signature', (h) => h.app.send('core.echo' as never), ConfigError, 'CONFIG', 'signature')
    c.rejects('null', (h) => h.app.send(null as never), ConfigError, 'CONFIG', 'signature')
    c.rejects('a signature of a task no one runs', (h) => h.app.send(signature('nope.sig')), NotRegistered, 'NOT_REGISTERED', 'nope.sig')
    c.rejects(
      'a link (set on the signature) to a task no one runs',
      (h) => h.app.send(h.tasks.coreEcho.s(1).set({ link: signature('nope.setLink') })),
      NotRegistered,
      'NOT_REGISTERED',
      'link',
    )
    c.rejects('priority 99', (h) => h.app.send(h.tasks.coreEcho.s(1), { priority: 99 }), ConfigError, 'CONFIG', 'priority')
    c.rejects('options as a string', (h) => h.app.send(h.tasks.coreEcho.s(1), 'high' as never), ConfigError, 'CONFIG', 'options')
    c.rejects('an invalid Date eta', (h) => h.app.send(h.tasks.coreEcho.s(1), { eta: new Date('x') }), ConfigError, 'CONFIG', 'eta')
  }),
  ...entry('task.apply', (c) => {
    c.rejects('priority 10', (h) => h.tasks.coreEcho.apply(['x'], { priority: 10 }), ConfigError, 'CONFIG', 'priority')
    c.rejects("args as a string ('1,2')", (h) => h.tasks.coreAdd.apply('1,2' as never), ConfigError, 'CONFIG', 'args')
    c.rejects('args as a number', (h) => h.tasks.coreAdd.apply(5 as never), ConfigError, 'CONFIG', 'args')
    c.rejects('args as null', (h) => h.tasks.coreAdd.apply(null as never), ConfigError, 'CONFIG', 'args')
    c.rejects('options as null', (h) => h.tasks.coreEcho.apply(['x'], null as never), ConfigError, 'CONFIG', 'options')
    c.rejects('options as a string', (h) => h.tasks.coreEcho.apply(['x'], 'high' as never), ConfigError, 'CONFIG', 'options')
    c.rejects('options as a number', (h) => h.tasks.coreEcho.apply(['x'], 5 as never), ConfigError, 'CONFIG', 'options')
    c.rejects('an empty taskId', (h) => h.tasks.coreEcho.apply(['x'], { taskId: '' }), ConfigError, 'CONFIG', 'taskId')
  }),
  inTask('self.delay with a function argument', false, SerializationError, 'SERIALIZATION', 'args[0]'),
  inTask('self.applyAsync with args as a string', false, ConfigError, 'CONFIG', 'args'),
  inTask('self.applyAsync with priority 10', false, ConfigError, 'CONFIG', 'priority'),
  inTask('self.applyAsync with kwargs', false, ConfigError, 'CONFIG', 'kwargs'),
  inTask('self.applyAsync with an empty taskId', false, ConfigError, 'CONFIG', 'taskId'),
  inTask('self.send of a string', false, ConfigError, 'CONFIG', 'signature'),
  inTask('self.send of an unknown task', false, NotRegistered, 'NOT_REGISTERED', 'nope.inTask'),
  inTask('self.send of a chain with an unknown step', false, NotRegistered, 'NOT_REGISTERED', 'chain step 2'),
  inTask('self.send with a NaN countdown', false, ConfigError, 'CONFIG', 'countdown'),
  inTask('self.send with a link to an unknown task', false, NotRegistered, 'NOT_REGISTERED', 'nope.inTaskLink'),
  inTask('self.send with options as a string', false, ConfigError, 'CONFIG', 'options'),
  inTask('self.progress with a NaN current', true, ConfigError, 'CONFIG', 'current'),
  inTask('self.progress with a negative total', true, ConfigError, 'CONFIG', 'total'),
  inTask('self.progress with extra as a string', true, ConfigError, 'CONFIG', 'extra'),
  inTask('self.updateState with an empty state', true, ConfigError, 'CONFIG', 'state'),
  inTask('self.retry with a negative countdown', true, ConfigError, 'CONFIG', 'countdown'),
  inTask('self.retry with max_retries', true, ConfigError, 'CONFIG', 'maxRetries'),
]
