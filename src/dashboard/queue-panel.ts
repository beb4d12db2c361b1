/// <reference lib="dom" />
/** The queues: paused or running, their tasks running / ready / scheduled here, ended per minute, and Pause / Resume. */
import { h } from './dom.js'
import type { DashboardSource } from './source.js'
import type { Throughput } from './throughput.js'
import type { QueueView } from './types.js'

export class QueuePanel {
  readonly element: HTMLElement
  readonly #body: HTMLTableSectionElement
  readonly #source: DashboardSource
  readonly #rates: Throughput
  readonly #say: (text: string) => void
  readonly #changed: () => void
  #queues: QueueView[] = []
  #drawn = ''

  /** `changed` is called after a pause or resume, to read the queues again. */
  constructor(source: DashboardSource, rates: Throughput, say: (text: string) => void, changed: () => void) {
    this.#source = source
    this.#rates = rates
    this.#say = say
    this.#changed = changed
    this.#body = h('tbody')
    this.element = h(
      'section',
      { class: 'panel queues', 'aria-labelledby': 'celeriac-queues-title' },
      h('h2', { id: 'celeriac-queues-title' }, 'Queues'),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          {},
          h('thead', {}, h('tr', {}, ...['Queue', 'State', 'Running', 'Ready', 'Scheduled', 'Ended/min', ''].map((c) => h('th', { scope: 'col' }, c)))),
          this.#body,
        ),
      ),
    )
  }

  update(queues: QueueView[]): void {
    this.#queues = queues
  }

  render(nowMs: number): void {
    const rows = this.#queues.map((q) => ({ q, rate: this.#rates.perMinute(q.name, nowMs) }))
    const key = JSON.stringify(rows)
    if (key === this.#drawn) return
    // Keep the keyboard focus on the same queue's button when the rows are redrawn.
    const focused = (this.element.getRootNode() as Document | ShadowRoot).activeElement
    const focusedQueue = focused instanceof HTMLElement && this.#body.contains(focused) ? focused.dataset.queue : undefined
    this.#drawn = key
    this.#body.replaceChildren(
      ...rows.map(({ q, rate }) =>
        h(
          'tr',
          { 'data-queue': q.name },
          h('th', { scope: 'row' }, q.name),
          h('td', {}, h('span', { class: q.paused ? 'state state-paused' : 'state state-running' }, q.paused ? 'paused' : 'running')),
          h('td', {}, String(q.active)),
          h('td', {}, String(q.reserved)),
          h('td', {}, String(q.scheduled)),
          h('td', {}, String(rate)),
          h(
            'td',
            {},
            h(
              'button',
              { type: 'button', 'data-queue': q.name, 'aria-label': `${q.paused ? 'Resume' : 'Pause'} queue ${q.name}`, onclick: () => void this.#toggle(q) },
              q.paused ? 'Resume' : 'Pause',
            ),
          ),
        ),
      ),
    )
    if (focusedQueue !== undefined) this.#body.querySelector<HTMLElement>(`button[data-queue="${CSS.escape(focusedQueue)}"]`)?.focus()
  }

  async #toggle(q: QueueView): Promise<void> {
    try {
      if (q.paused) await this.#source.resume(q.name)
      else await this.#source.pause(q.name)
      this.#say(`Queue ${q.name} ${q.paused ? 'resumed' : 'paused'}`)
    } catch (error) {
      this.#say(`${q.paused ? 'Resume' : 'Pause'} failed: ${error instanceof Error ? error.message : String(error)}`)
    }
    this.#changed()
  }
}
