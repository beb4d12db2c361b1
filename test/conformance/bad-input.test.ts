/**
 * Bad input gets a typed error at the call that made it, with a message that says what to do,
 * and the engine keeps working afterwards. `test/bad-input/` holds the full catalogue, case by
 * case; these are the categories, with the Celery behaviour each mirrors.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest'
import { Celeriac, ConfigError, NotRegistered, chain, chord, group, memoryStorage, signature } from '../../src/index.js'
import type { AsyncResult } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

async function rejection(call: () => Promise<unknown>): Promise<Error> {
  return call().then(
    () => expect.unreachable('the call should have been refused'),
    (e: unknown) => e as Error,
  )
}

function thrown(call: () => unknown): Error {
  try {
    call()
  } catch (error) {
    return error as Error
  }
  return expect.unreachable('the call should have thrown')
}

/** The engine still runs a task, and nothing the refused call made ran. */
async function stillWorks(h: Harness): Promise<void> {
  await h.app.whenIdle()
  expect(h.lines()).toEqual([])
  expect(await (await h.tasks.coreMark.delay('still works')).get()).toBe('still works')
}

forEachCombo('bad input', (combo) => {
  // One started app serves the scenarios that need no config of their own (a worker pool costs
  // a second to start); `own` is a scenario's own app, stopped after it.
  let h: Harness
  let shared: Harness
  let own: Harness | undefined
  beforeAll(async () => {
    shared = await setup(combo)
  })
  afterAll(async () => shared.stop())
  beforeEach(() => {
    h = shared
    shared.logs.length = 0
  })
  afterEach(async () => {
    await own?.stop()
    own = undefined
  })

  it('an unknown task name is NotRegistered, by name and by signature', async () => {
    const error = await rejection(() => h.app.sendTask('core.nope', []))
    expect(error).toBeInstanceOf(NotRegistered)
    expect((error as NotRegistered).code).toBe('NOT_REGISTERED')
    expect(error.message).toContain('core.nope')
    const bySignature = await rejection(() => signature('core.nope', { args: [1] }).delay())
    expect(bySignature).toBeInstanceOf(NotRegistered)
    expect(bySignature.message).toContain('core.nope')
    const sentByApp = await rejection(() => h.app.send(signature('core.nope')))
    expect(sentByApp).toBeInstanceOf(NotRegistered)
  })

  it.each([
    ['a negative countdown', { countdown: -1 }, 'countdown'],
    ['a NaN countdown', { countdown: Number.NaN }, 'countdown'],
    ['a NaN priority', { priority: Number.NaN }, 'priority'],
    ['priority 10', { priority: 10 }, 'priority'],
    ['priority -1', { priority: -1 }, 'priority'],
    ['a fractional priority', { priority: 1.5 }, 'priority'],
    ['an eta that is not a date', { eta: 'tomorrow' }, 'eta'],
    ['an invalid Date eta', { eta: new Date('nope') }, 'eta'],
    ['an expires that is not a time', { expires: 'soon' }, 'expires'],
    ['both countdown and eta', { countdown: 10, eta: new Date() }, 'countdown'],
  ])('%s is a ConfigError naming the option; nothing is queued', async (_label, options, word) => {
    const error = await rejection(() => h.tasks.coreMark.applyAsync(['x'], options as never))
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).code).toBe('CONFIG')
    expect(error.message).toContain(word)
    await h.app.whenIdle()
    expect(h.lines()).toEqual([])
    expect(await (await h.tasks.coreMark.delay('still works')).get()).toBe('still works')
  })

  // Celery's as_task_v2 raises TypeError('task args must be a list or tuple') at apply_async.
  it('args that are not an array are refused at the send, not sent as one argument', async () => {
    for (const call of [
      () => h.tasks.coreAdd.applyAsync('1,2' as never),
      () => h.app.sendTask('core.add', '1,2' as never),
      () => h.tasks.coreAdd.s().applyAsync({ 0: 1, 1: 2 } as never),
      () => chain(h.tasks.coreAdd.s(1)).applyAsync('1' as never),
    ]) {
      const error = await rejection(call)
      expect(error).toBeInstanceOf(ConfigError)
      expect(error.message).toMatch(/args.* must be an array/)
    }
    // signature() is a constructor: it throws at the call.
    expect(thrown(() => signature('core.add', { args: '1,2' as never })).message).toMatch(/args.* must be an array/)
    // No args at all is Celery's apply_async() with args=None.
    expect(await (await h.tasks.coreRequest.applyAsync(undefined as never)).get()).toMatchObject({ args: [] })
    // And of Celery's Task.apply (args=None runs with no arguments).
    expect(await (await h.tasks.coreRequest.apply(undefined as never)).get()).toMatchObject({ args: [], isEager: true })
    await stillWorks(h)
  })

  it.each([
    ['an empty taskId (not silently replaced)', { taskId: '' }, 'taskId'],
    ['a number taskId', { taskId: 42 }, 'taskId'],
    ['an empty queue', { queue: '' }, 'queue'],
    ['a number queue', { queue: 7 }, 'queue'],
    ['headers that are a string', { headers: 'x' }, 'headers'],
    ['headers that are an array', { headers: ['x'] }, 'headers'],
    ['a NaN expires', { expires: Number.NaN }, 'expires'],
    ['an invalid Date expires', { expires: new Date('nope') }, 'expires'],
    ['a zero timeLimit', { timeLimit: 0 }, 'timeLimit'],
    ['a countdown beyond the last Date', { countdown: 1e300 }, 'countdown'],
    ['a link that is not a signature', { link: 'core.echo' }, 'link'],
    ['a linkError that is not a signature', { linkError: { task: 'core.echo' } }, 'linkError'],
    ["Celery's kwargs", { kwargs: { a: 1 } }, 'kwargs'],
    ["Celery's snake_case task_id", { task_id: 'x' }, "did you mean 'taskId'"],
  ])('%s is a ConfigError naming it, at applyAsync and at signature()', async (_label, options, word) => {
    // Celery validates at apply_async too (as_task_v2: _verify_seconds, the args/kwargs types).
    const error = await rejection(() => h.tasks.coreMark.applyAsync(['x'], options as never))
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).code).toBe('CONFIG')
    expect(error.message).toContain(word)
    const atSignature = thrown(() => signature('core.mark', { args: ['x'], options: options as never }))
    expect(atSignature).toBeInstanceOf(ConfigError)
    expect(atSignature.message).toContain(word)
    await stillWorks(h)
  })

  it('a bad option in a later chain step is refused when the chain is made, not when the step is due', async () => {
    const error = thrown(() => chain(h.tasks.coreMark.s('a'), h.tasks.coreMark.si('b').set({ priority: 12 })))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toContain('priority')
    await stillWorks(h)
  })

  // A consuming app knows every registry its consumers have (its own, shared tasks, its workers'),
  // so a canvas naming a task none can run is refused at the send, wherever the name is.
  it.each([
    ['a chain step', (h: Harness) => chain(h.tasks.coreMark.s('a'), signature('nope.step')).delay(), 'chain step 2'],
    ['a group member', (h: Harness) => group([h.tasks.coreMark.s('a'), signature('nope.member')]).delay(), 'group member 2'],
    ['a chord body', (h: Harness) => chord([h.tasks.coreMark.s('a')], signature('nope.body')).delay(), 'chord body'],
    ['a link', (h: Harness) => h.tasks.coreMark.applyAsync(['a'], { link: signature('nope.link') }), 'link 1'],
    ['an errback', (h: Harness) => h.tasks.coreMark.applyAsync(['a'], { linkError: signature('nope.errback') }), 'errback 1'],
    [
      'a link of a chain step',
      (h: Harness) => chain(h.tasks.coreMark.s('a'), h.tasks.coreMark.si('b').link(signature('nope.deep'))).delay(),
      'chain step 2, link 1',
    ],
  ])('%s naming a task no one runs is NotRegistered at the send; nothing of it runs', async (_label, send, where) => {
    const error = await rejection(() => send(h))
    expect(error).toBeInstanceOf(NotRegistered)
    expect((error as NotRegistered).code).toBe('NOT_REGISTERED')
    expect(error.message).toContain('nope.')
    expect(error.message).toContain(where)
    await stillWorks(h)
  })

  it('a task sending a canvas with an unknown task through self gets NotRegistered in the task', async () => {
    for (const name of ['self.send of an unknown task', 'self.send of a chain with an unknown step', 'self.send with a link to an unknown task']) {
      const report = await (await h.tasks.badInTask.delay(name)).get()
      expect(report).toMatchObject({ refused: true, sync: false, name: 'NotRegistered', code: 'NOT_REGISTERED' })
    }
    await stillWorks(h)
  })

  // Celery's worker stores FAILURE with NotRegistered for a message naming a task it does not
  // have (Consumer.on_unknown_task); a producer cannot know the consumer's registry, so the same
  // happens here at run time, never silence.
  it('sent by a producer, a step or a link no one runs is stored FAILURE with NotRegistered', async () => {
    const storage = combo.storage()
    const producer = await setup(combo, { storage, consume: false })
    const chained = await chain(producer.tasks.coreEcho.s(1), signature('nope.later')).delay()
    const linked = await producer.tasks.coreEcho.applyAsync([2], { link: signature('nope.linked', { options: { taskId: 'link-of-2' } }) })
    await producer.stop()
    h = own = await setup(combo, { storage })
    await h.clock.runAll()
    const later = await rejection(() => h.app.AsyncResult(chained.id).get())
    expect(later).toBeInstanceOf(NotRegistered)
    expect(later.message).toContain('nope.later')
    expect(await h.app.AsyncResult(linked.id).get()).toBe(2)
    const link = await rejection(() => h.app.AsyncResult('link-of-2').get())
    expect(link).toBeInstanceOf(NotRegistered)
    expect(link.message).toContain('nope.linked')
    await stillWorks(h)
  })

  it('AsyncResult of an empty or missing id throws; get() with a NaN or negative timeout rejects instead of hanging', async () => {
    for (const id of ['', null, 5]) {
      const error = thrown(() => h.app.AsyncResult(id as never))
      expect(error).toBeInstanceOf(ConfigError)
      expect(error.message).toContain('task id')
    }
    const pending: AsyncResult<unknown> = h.app.AsyncResult('never-sent')
    for (const timeout of [Number.NaN, -1]) {
      const error = await rejection(() => pending.get({ timeout }))
      expect(error).toBeInstanceOf(ConfigError)
      expect(error.message).toContain('timeout')
    }
    // Celery's get(timeout) form: the number alone would have meant no timeout at all.
    expect((await rejection(() => pending.get(1_000 as never))).message).toContain('get({ timeout: 1000 })')
    await stillWorks(h)
  })

  it('revoke and control calls refuse bad options; a task no one runs is NotRegistered', async () => {
    const r = await h.tasks.coreMark.applyAsync(['later'], { countdown: 1_000 })
    expect(await rejection(() => r.revoke({ terminate: 'yes' as never }))).toBeInstanceOf(ConfigError)
    expect(await rejection(() => h.app.control.revoke(7 as never))).toBeInstanceOf(ConfigError)
    // Celery's rate_limit / time_limit control commands answer 'unknown task' for a name the
    // worker does not have.
    expect(thrown(() => h.app.control.rateLimit('nope.rate', '1/s'))).toBeInstanceOf(NotRegistered)
    expect(thrown(() => h.app.control.timeLimit('nope.limit', { hard: 1_000 }))).toBeInstanceOf(NotRegistered)
    // The refused revoke revoked nothing: the task still runs when due.
    await h.clock.advance(1_000)
    expect(await r.get()).toBe('later')
    expect(h.lines()).toEqual(['later'])
  })

  it('an option passed as undefined keeps the task default, the route and the signature option', async () => {
    h = own = await setup(combo, { routes: { 'core.request': { priority: 3 } } })
    // The task option (queue: 'reports') stays.
    const routed = await h.tasks.coreRouted.applyAsync([], { queue: undefined, priority: undefined })
    expect(await routed.get()).toBe('reports')
    // The route's priority stays.
    const byRoute = await h.tasks.coreRequest.applyAsync(['r'], { priority: undefined })
    expect(await byRoute.get()).toMatchObject({ priority: 3 })
    // A signature's stored options stay, through set() and applyAsync().
    const sig = h.tasks.coreRequest.s('s').set({ queue: 'reports', priority: 7 }).set({ queue: undefined })
    const stored = await sig.applyAsync([], { queue: undefined, priority: undefined, countdown: undefined })
    expect(await stored.get()).toMatchObject({ queue: 'reports', priority: 7 })
    // So do a chain's, and the task default of a send made inside a task.
    const chained = await chain(h.tasks.coreRequest.s('c').set({ priority: 5 })).applyAsync([], { priority: undefined })
    expect(await chained.get()).toMatchObject({ priority: 5 })
    const childId = await (await h.tasks.badUndefinedFromTask.delay()).get()
    expect(await h.app.AsyncResult(childId).get()).toBe('reports')
  })

  it('an unknown queue is refused when queues are declared', async () => {
    h = own = await setup(combo, { queues: { default: {}, reports: {} } })
    const error = await rejection(() => h.tasks.coreMark.applyAsync(['x'], { queue: 'report' }))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toContain("unknown queue 'report'")
    expect(error.message).toContain('reports')
    expect(await (await h.tasks.coreMark.applyAsync(['ok'], { queue: 'reports' })).get()).toBe('ok')
  })

  it('a bad queue concurrency and a bad route priority are refused at construction', () => {
    expect(() => new Celeriac({ queues: { default: { concurrency: 0 } } })).toThrow(ConfigError)
    expect(() => new Celeriac({ routes: { 'a.*': { priority: 12 } } })).toThrow(ConfigError)
  })
})

// Lifecycle errors do not depend on the combination.
it('sending before start() and after stop() is a ConfigError that says what to do', async () => {
  const app = new Celeriac({ storage: memoryStorage(), clock: virtualClock() })
  const add = app.task('life.add', (a: number, b: number) => a + b)
  const before = await rejection(() => add.delay(1, 2))
  expect(before).toBeInstanceOf(ConfigError)
  expect(before.message).toContain('app.start()')
  await app.start()
  expect(await (await add.delay(1, 2)).get()).toBe(3)
  await app.stop()
  const after = await rejection(() => add.delay(1, 2))
  expect(after).toBeInstanceOf(ConfigError)
  expect(after.message).toContain('stopped')
})

it('a duplicate task name is a ConfigError at registration', () => {
  const app = new Celeriac()
  app.task('dup.name', () => 1)
  expect(() => app.task('dup.name', () => 2)).toThrow(ConfigError)
  expect(() => app.task('dup.name', () => 2)).toThrow(/unique/)
})

it('task options are checked at app.task: unknown names (a typo, Celery snake_case) and wrong types throw there', () => {
  const app = new Celeriac()
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ max_retries: 3 }, "did you mean 'maxRetries'"],
    [{ retries: 3 }, "unknown option 'retries'"],
    [{ bind: 'yes' }, 'bind'],
    [{ queue: '' }, 'queue'],
    [{ ignoreResult: 1 }, 'ignoreResult'],
    [{ retryBackoff: 'fast' }, 'retryBackoff'],
  ]
  for (const [options, word] of cases) {
    const error = thrown(() => app.task('opts.bad', options as never, () => 1))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toContain(word)
  }
  expect(app.registered()).not.toContain('opts.bad')
  expect(() => new Celeriac({ taskDefaults: { maxRetrys: 1 } as never })).toThrow(/unknown option 'maxRetrys'/)
})

it('a taskDefaults option passed as undefined in configure() keeps the earlier default', async () => {
  const app = new Celeriac({ clock: virtualClock(), taskDefaults: { queue: 'reports' } })
  app.configure({ taskDefaults: { queue: undefined, maxRetries: 1 } })
  const where = app.task('defaults.queue', { bind: true }, (self) => self.request.deliveryInfo.queue)
  await app.start()
  expect(where.maxRetries).toBe(1)
  expect(await (await where.delay()).get()).toBe('reports')
  await app.stop()
})

it('start() twice and configure() after start() are ConfigErrors', async () => {
  const app = new Celeriac({ clock: virtualClock() })
  await app.start()
  await expect(app.start()).rejects.toBeInstanceOf(ConfigError)
  expect(() => app.configure({ name: 'late' })).toThrow(ConfigError)
  await app.stop()
})

it('stop() waits for running tasks, up to its timeout', async () => {
  const clock = virtualClock()
  const app = new Celeriac({ clock })
  const slow = app.task('life.slow', { bind: true }, async (self, ms: number) => {
    await self.sleep(ms)
    return 'done'
  })
  await app.start()
  const succeeded: string[] = []
  app.events.on('task-succeeded', (e) => succeeded.push(e.id))
  const r = await slow.delay(1_000)
  let stopped = false
  const stopping = app.stop({ timeout: 60_000 }).then(() => (stopped = true))
  await clock.advance(500)
  expect(stopped).toBe(false)
  await clock.advance(500)
  await stopping
  expect(stopped).toBe(true)
  expect(succeeded).toEqual([r.id])
})
