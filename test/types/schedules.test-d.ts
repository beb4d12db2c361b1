/** Type tests: `app.schedules.upsert` takes any signature (a task's, a chain, a chord) and one timing shape. */
import { describe, expectTypeOf, it } from 'vitest'
import { Celeriac, chain, chord } from '../../src/index.js'
import type { ScheduleInfo, ScheduleTiming } from '../../src/index.js'

const app = new Celeriac()
const add = app.task('types.schedule.add', (a: number, b: number) => a + b)
const sum = app.task('types.schedule.sum', (values: number[]) => values.reduce((a, b) => a + b, 0))

describe('schedules', () => {
  it('upsert takes a timing, any signature and options, and gives the schedule as list() shows it', () => {
    expectTypeOf(app.schedules.upsert('a', { every: 60_000 }, add.s(1, 2))).resolves.toEqualTypeOf<ScheduleInfo>()
    expectTypeOf(
      app.schedules.upsert('b', { cron: '0 3 * * *', tz: 'UTC' }, chain(add.s(1, 2), add.s(3)), { missed: 'skip' }),
    ).resolves.toEqualTypeOf<ScheduleInfo>()
    expectTypeOf(
      app.schedules.upsert('c', { cron: '0 3 * * *' }, chord([add.s(1, 1)], sum.s()), { startAt: new Date(), endAt: 0, limit: 3 }),
    ).resolves.toEqualTypeOf<ScheduleInfo>()
    expectTypeOf(app.schedules.list()).resolves.toEqualTypeOf<ScheduleInfo[]>()
    expectTypeOf(app.schedules.remove('a')).resolves.toEqualTypeOf<boolean>()
  })

  it('refuses what is not a timing, a signature or a missed policy', () => {
    // @ts-expect-error: every is a number of ms
    const every: ScheduleTiming = { every: '1m' }
    // @ts-expect-error: a timing needs every or cron
    const none: ScheduleTiming = { tz: 'UTC' }
    // @ts-expect-error: a task, not a signature
    void app.schedules.upsert('d', { every: 1 }, add)
    // @ts-expect-error: missed is 'once' | 'skip' | 'all'
    void app.schedules.upsert('e', { every: 1 }, add.s(1, 2), { missed: 'later' })
    void every
    void none
  })
})
