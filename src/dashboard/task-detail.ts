/// <reference lib="dom" />
/**
 * The detail pane of the selected task: its fields, arguments, result or traceback (from the
 * stored result, read when it is opened and again when it ends), its progress, its workflow
 * (the tasks of the same root, as a tree, with the workflow's progress), and Revoke,
 * Terminate (a running task) and Retry (a failed or revoked one).
 */
import { h, pretty, shortId } from './dom.js'
import { progressBar } from './progress-bar.js'
import type { DashboardSource } from './source.js'
import { isEnded } from './task-board.js'
import type { TaskBoard, TaskRow } from './task-board.js'
import type { ResultView } from './types.js'

export class TaskDetail {
  readonly element: HTMLElement
  readonly #board: TaskBoard
  readonly #source: DashboardSource
  readonly #say: (text: string) => void
  readonly #onSelect: (id: string) => void
  #id: string | undefined
  #result: ResultView | undefined
  /** The state the stored result was read at, so it is read again when the task ends. */
  #readAt = ''
  #drawn = ''

  constructor(board: TaskBoard, source: DashboardSource, say: (text: string) => void, onSelect: (id: string) => void) {
    this.#board = board
    this.#source = source
    this.#say = say
    this.#onSelect = onSelect
    this.element = h('section', { class: 'panel detail', 'aria-labelledby': 'celeriac-detail-title', tabindex: -1 })
    this.#draw()
  }

  get selected(): string | undefined {
    return this.#id
  }

  select(id: string): void {
    this.#id = id
    this.#result = undefined
    this.#readAt = ''
    this.render(true)
    this.element.focus()
  }

  render(force = false): void {
    const row = this.#id === undefined ? undefined : this.#board.get(this.#id)
    if (row !== undefined && this.#readAt !== readKey(row)) this.#read(row)
    const key = `${String(this.#board.version)}|${this.#id ?? ''}|${this.#result?.state ?? ''}`
    if (key === this.#drawn && !force) return
    this.#drawn = key
    this.#draw()
  }

  #read(row: TaskRow): void {
    this.#readAt = readKey(row)
    const id = row.id
    this.#source.result(id).then(
      (result) => {
        if (this.#id !== id) return
        this.#result = result
        this.render(true)
      },
      (error: unknown) => this.#say(`Could not read the result of ${shortId(id)}: ${String(error)}`),
    )
  }

  #draw(): void {
    const title = h('h2', { id: 'celeriac-detail-title' }, 'Task details')
    const id = this.#id
    if (id === undefined) {
      this.element.replaceChildren(title, h('p', { class: 'hint' }, 'Select a task in the list (click it, or focus it and press Enter).'))
      return
    }
    const row = this.#board.get(id)
    const stored = this.#result
    const state = row?.state ?? stored?.state ?? 'PENDING'
    const ended = isEnded(state)
    const buttons = h(
      'div',
      { class: 'actions' },
      h(
        'button',
        { type: 'button', class: 'danger', disabled: ended, 'aria-label': `Revoke task ${id}`, onclick: () => void this.#revoke(id, false) },
        'Revoke',
      ),
      state === 'STARTED' || state === 'PROGRESS'
        ? h('button', { type: 'button', class: 'danger', 'aria-label': `Terminate task ${id}`, onclick: () => void this.#revoke(id, true) }, 'Terminate')
        : null,
      (state === 'FAILURE' || state === 'REVOKED') && row?.sent === true
        ? h('button', { type: 'button', 'aria-label': `Retry task ${id}`, onclick: () => void this.#retry(id) }, 'Retry')
        : null,
    )
    const failed = stored?.state === 'FAILURE' || stored?.state === 'REVOKED' || stored?.traceback != null
    const fields = h(
      'dl',
      { class: 'fields' },
      ...field('Id', id),
      ...field('Task', row?.name ?? stored?.task ?? '-'),
      ...field('State', state),
      ...field('Queue', row?.queue ?? '-'),
      ...field('Retries', String(row?.retries ?? stored?.retries ?? 0)),
      ...field('Runtime', row?.runtime === undefined ? '-' : `${String(row.runtime)} ms`),
    )
    const workflow = row === undefined ? [] : this.#board.workflow(row)
    const done = workflow.filter((w) => isEnded(w.row.state)).length
    const parts: (HTMLElement | null)[] = [
      title,
      fields,
      buttons,
      row?.progress === undefined ? null : progressBar(`progress of task ${shortId(id)}`, row.progress.current, row.progress.total),
      h('h3', {}, 'Arguments'),
      h('pre', { class: 'value', 'aria-label': 'arguments' }, row?.args === undefined ? '(not seen: sent before the dashboard opened)' : pretty(row.args)),
      h('h3', {}, failed ? 'Error' : 'Result'),
      h(
        'pre',
        { class: failed ? 'value error' : 'value', 'aria-label': failed ? 'error' : 'result' },
        stored === undefined
          ? 'reading…'
          : failed
            ? (stored.traceback ?? pretty(stored.result))
            : ended || stored.state === 'SUCCESS'
              ? pretty(stored.result)
              : `(${stored.state})`,
      ),
      workflow.length > 1 ? h('h3', {}, `Workflow ${shortId(row?.rootId ?? id)}: ${String(done)} of ${String(workflow.length)} ended`) : null,
      workflow.length > 1 ? progressBar('workflow progress', done, workflow.length) : null,
      workflow.length > 1
        ? h(
            'ul',
            { class: 'tree', 'aria-label': 'tasks of this workflow' },
            ...workflow.map(({ row: r, depth }) =>
              indent(
                depth,
                h(
                  'li',
                  { 'data-id': r.id },
                  h(
                    'button',
                    { type: 'button', class: 'link', 'aria-current': r.id === id ? 'true' : undefined, onclick: () => this.#onSelect(r.id) },
                    `${r.name} ${shortId(r.id)}`,
                  ),
                  ' ',
                  h('span', { class: `state state-${r.state.toLowerCase()}` }, r.state),
                  r.progress === undefined ? null : ` ${String(r.progress.percent)}%`,
                ),
              ),
            ),
          )
        : null,
    ]
    this.element.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null))
  }

  async #revoke(id: string, terminate: boolean): Promise<void> {
    try {
      await this.#source.revoke(id, { terminate })
      this.#say(`${terminate ? 'Terminated' : 'Revoked'} ${shortId(id)}`)
    } catch (error) {
      this.#say(`Revoke failed: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  async #retry(id: string): Promise<void> {
    try {
      const fresh = await this.#source.retry(id)
      this.#say(`Sent again as ${shortId(fresh)}`)
    } catch (error) {
      this.#say(`Retry failed: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}

/** Indents a tree item (through the CSSOM: the served page's CSP refuses style attributes). */
function indent(depth: number, li: HTMLElement): HTMLElement {
  li.style.setProperty('--depth', String(depth))
  return li
}

function field(name: string, value: string): HTMLElement[] {
  return [h('dt', {}, name), h('dd', {}, value)]
}

/** A task's result is read when it is opened and again once it has ended. */
function readKey(row: TaskRow): string {
  return `${row.id}|${isEnded(row.state) ? 'ended' : 'open'}`
}
