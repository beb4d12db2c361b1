/**
 * The end of a run's life: giving its queue slot back as soon as its body is over, releasing it
 * once nothing of it is left (outcome stored, hooks done), and asking the runtime to stop one.
 */
import type { EngineState, Running } from './state.js'

export class Runs {
  readonly #state: EngineState

  constructor(state: EngineState) {
    this.#state = state
  }

  release(run: Running): void {
    const state = this.#state
    const { message } = run
    if (state.running.get(message.id) !== run) return
    state.running.delete(message.id)
    state.parked -= run.parked
    const timers = run.timers
    for (let i = 0; i < timers.length; i++) state.clock.clearTimer(timers[i]!)
    // Messages of its id taken while it was here are queued again (state.afterRun).
    if (state.afterRun.size > 0) for (const waiting of state.afterRun.release(message.id)) state.scheduler.add(waiting)
    this.freeSlot(run)
    state.schedulePump()
  }

  /**
   * Gives the run's queue slot back. Done as soon as its body is over (the outcome is in and no
   * hooks are left), before the outcome is stored: the next runs' start records then join the
   * same commit as this outcome (one fsync for both on file storage), and they still start only
   * after it is stored, since their start waits for that commit.
   */
  freeSlot(run: Running): void {
    if (run.slotFreed) return
    run.slotFreed = true
    const slots = this.#state.runningPerQueue.get(run.message.queue)
    if (slots !== undefined) slots.count--
    else this.#state.runningPerQueue.set(run.message.queue, { count: 0 })
    this.#state.schedulePump()
  }

  /**
   * Tells the runtime to abort the run's signal. A task sleeping on the clock or waiting for a
   * result wakes at once, as Celery's soft time limit interrupts `time.sleep`: its `self.sleep`
   * (or `get()`) then throws the reason.
   */
  cancel(run: Running, reason: 'soft-time-limit' | 'terminated'): void {
    this.#state.executor.post({ type: 'cancel', id: run.message.id, reason })
    if (run.wakers !== undefined) for (const wake of [...run.wakers]) wake()
  }
}
