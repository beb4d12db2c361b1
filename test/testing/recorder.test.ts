import { afterEach, expect, it } from 'vitest'
import { Celeriac, Reject } from '../../src/index.js'
import { recorder, virtualClock } from '../../src/testing.js'

let app: Celeriac
afterEach(async () => app.stop())

function makeApp() {
  const clock = virtualClock()
  app = new Celeriac({ clock })
  const welcome = app.task('mail.welcome', (address: string) => `sent to ${address}`)
  const flaky = app.task('mail.flaky', { bind: true, defaultRetryDelay: 1_000, maxRetries: 1 }, (self, n: number) => {
    if (self.request.retries === 0) throw self.retry()
    return n
  })
  const signup = app.task('user.signup', { bind: true }, async (self, address: string) => {
    await self.send(welcome.s(address))
    return address
  })
  const picky = app.task('mail.picky', { bind: true }, (self, requeue: boolean) => {
    if (!self.request.deliveryInfo.redelivered) throw new Reject('not now', requeue)
    return 'took it'
  })
  return { clock, welcome, flaky, signup, picky }
}

it('records what a task sent, with its args and the states it went through', async () => {
  const { signup } = makeApp()
  await app.start()
  const sent = recorder(app)
  await signup.delay('ada@example.com')
  const welcomed = await sent.waitFor('mail.welcome', 'SUCCESS')
  expect(welcomed.args).toEqual(['ada@example.com'])
  expect(welcomed.states).toEqual(['PENDING', 'RECEIVED', 'STARTED', 'SUCCESS'])
  expect(sent.sent('user.signup')).toHaveLength(1)
  expect(sent.tasks.map((t) => t.name)).toEqual(['user.signup', 'mail.welcome'])
})

it('waitFor resolves at once for a state already reached, and waits for one to come', async () => {
  const { clock, flaky } = makeApp()
  await app.start()
  const sent = recorder(app)
  const r = await flaky.delay(7)
  const retried = await sent.waitFor(r.id, 'RETRY')
  expect(retried.states).toContain('RETRY')
  let succeeded = false
  const done = sent.waitFor((t) => t.id === r.id, 'SUCCESS').then(() => (succeeded = true))
  await Promise.resolve()
  expect(succeeded).toBe(false)
  await clock.advance(1_000)
  await done
  expect(succeeded).toBe(true)
  expect((await sent.waitFor(r.id, 'RETRY')).id).toBe(r.id)
})

it('clear forgets what was recorded; stop ends recording', async () => {
  const { welcome } = makeApp()
  await app.start()
  const sent = recorder(app)
  await (await welcome.delay('a')).get()
  sent.clear()
  expect(sent.tasks).toEqual([])
  sent.stop()
  await (await welcome.delay('b')).get()
  expect(sent.tasks).toEqual([])
})

it('a rejected task: FAILURE when dropped (what is stored), PENDING again when requeued, then its next run', async () => {
  const { picky } = makeApp()
  await app.start()
  const sent = recorder(app)
  const dropped = await picky.delay(false)
  expect((await sent.waitFor(dropped.id, 'FAILURE')).states).toEqual(['PENDING', 'RECEIVED', 'STARTED', 'FAILURE'])
  const requeued = await picky.delay(true)
  expect((await sent.waitFor(requeued.id, 'SUCCESS')).states).toEqual(['PENDING', 'RECEIVED', 'STARTED', 'PENDING', 'RECEIVED', 'STARTED', 'SUCCESS'])
})
