/**
 * A send with a taskId that is queued, held or running here is not sent again (Queue's dedupe).
 * On memory storage a consuming engine keeps no set of those ids until a dedupe first asks
 * (KnownIds): it then reads them from the scheduler (ready and delayed), the gates (rate-parked,
 * offline) and the runs. Each place is covered here, and the set kept after the first ask.
 */
import { describe, expect, it } from 'vitest'
import { Celeriac, memoryStorage } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import { KnownIds } from '../../src/core/engine/known-ids.js'

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void
  const wait = new Promise<void>((resolve) => (open = resolve))
  return { wait, open }
}

describe('taskId dedupe on memory storage (KnownIds)', () => {
  it('finds an id in each place the engine holds it, and keeps the set once asked', async () => {
    const clock = virtualClock()
    const app = new Celeriac({ storage: memoryStorage(), clock, queues: { default: { concurrency: 1 }, limited: { concurrency: 4 } } })
    const runs: string[] = []
    const blocker = gate()
    const started = gate()
    const block = app.task('known.block', async (name: string) => {
      runs.push(name)
      started.open()
      await blocker.wait
    })
    const note = app.task('known.note', (name: string) => void runs.push(name))
    const limited = app.task('known.limited', { rateLimit: '1/m', queue: 'limited' }, (name: string) => void runs.push(name))
    await app.start()

    // Sent without a taskId, so that nothing asks before every place holds one.
    const running = await block.delay('running')
    const ready = await note.delay('ready')
    const later = await note.applyAsync(['later'], { countdown: 60_000 })
    const first = await limited.delay('first')
    const parked = await limited.delay('parked')
    await started.wait
    await first.get()
    expect(runs.sort()).toEqual(['first', 'running'])
    // Asked for the first time: running, queued behind it, delayed, parked for a rate-limit token.
    for (const handle of [running, ready, later, parked]) expect((await note.applyAsync(['again'], { taskId: handle.id })).id).toBe(handle.id)
    // Known from now on as it is sent.
    const after = await note.delay('after')
    expect((await note.applyAsync(['again'], { taskId: after.id })).id).toBe(after.id)
    blocker.open()
    await running.get()
    await ready.get()
    await after.get()
    await clock.advance(60_000)
    await parked.get()
    await later.get()
    expect(runs.sort()).toEqual(['after', 'first', 'later', 'parked', 'ready', 'running'])
    await app.stop()
  })

  it('a forgotten id that is still queued is no longer known, as before', async () => {
    const clock = virtualClock()
    const app = new Celeriac({ storage: memoryStorage(), clock })
    const runs: string[] = []
    const note = app.task('known.note', (name: string) => void runs.push(name))
    await app.start()
    const later = await note.applyAsync(['later'], { countdown: 60_000 })
    await later.forget()
    await note.applyAsync(['again'], { taskId: later.id })
    await clock.advance(60_000)
    expect(runs.sort()).toEqual(['again', 'later'])
    await app.stop()
  })

  it('a queued id being revoked or purged is known until it ends, as before', async () => {
    const clock = virtualClock()
    const app = new Celeriac({ storage: memoryStorage(), clock })
    const sent: string[] = []
    app.events.on('task-sent', (event) => sent.push(event.id))
    const note = app.task('known.note', (_name: string) => undefined)
    await app.start()
    const revoked = await note.applyAsync(['revoked'], { countdown: 60_000 })
    const purged = await note.applyAsync(['purged'], { countdown: 60_000 })
    // Asked while the revoke (then the purge) is being stored: not sent again.
    const revoking = app.control.revoke(revoked.id)
    await note.applyAsync(['again'], { taskId: revoked.id })
    await revoking
    const purging = app.control.purge()
    await note.applyAsync(['again'], { taskId: purged.id })
    await purging
    expect(sent).toEqual([revoked.id, purged.id])
    await app.stop()
  })

  it('keeps no set while derivable; builds it from the structures when first asked, or when no longer derivable', () => {
    let derivable = true
    let here = ['a', 'b']
    const known = new KnownIds(
      () => derivable,
      () => here,
    )
    known.add('c')
    known.delete('a')
    // Not kept: the structures say.
    expect(known.has('a')).toBe(true)
    expect(known.has('c')).toBe(false)
    here = []
    // Kept since the first ask.
    expect(known.has('b')).toBe(true)
    known.add('d')
    known.delete('b')
    expect([known.has('b'), known.has('d')]).toEqual([false, true])

    const other = new KnownIds(
      () => derivable,
      () => here,
    )
    here = ['x']
    derivable = false
    other.add('y')
    expect([other.has('x'), other.has('y')]).toEqual([true, true])
    // Not derivable at construction: kept from the start, the structures never read.
    const kept = new KnownIds(
      () => false,
      () => ['never'],
    )
    expect(kept.has('never')).toBe(false)
  })
})
