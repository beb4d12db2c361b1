/// <reference lib="dom" />
/**
 * The task list: state filter buttons, a search box (id or name), and a table of the tasks that
 * match, newest first (the first 200 drawn). The table is one Tab stop (the selected row, else
 * the first): arrow keys move between rows, Enter or Space opens one in the detail pane.
 */
import { h, shortId } from './dom.js'
import { progressBar } from './progress-bar.js'
import { STATE_GROUPS } from './task-board.js'
import type { StateGroup, TaskBoard } from './task-board.js'

const SHOWN = 200
const GROUP_LABELS: Record<StateGroup, string> = {
  all: 'All',
  waiting: 'Waiting',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  revoked: 'Revoked',
}

export class TaskList {
  readonly element: HTMLElement
  readonly #board: TaskBoard
  readonly #onSelect: (id: string) => void
  readonly #body: HTMLTableSectionElement
  readonly #count: HTMLElement
  readonly #chips = new Map<StateGroup, HTMLButtonElement>()
  #group: StateGroup = 'all'
  #search = ''
  /** The board's version and the filter drawn last, so an unchanged frame draws nothing. */
  #drawn = ''
  #selected: string | undefined

  constructor(board: TaskBoard, onSelect: (id: string) => void) {
    this.#board = board
    this.#onSelect = onSelect
    const chips = h('div', { class: 'chips', role: 'group', 'aria-label': 'Filter by state' })
    for (const group of Object.keys(STATE_GROUPS) as StateGroup[]) {
      const chip = h(
        'button',
        { type: 'button', class: 'chip', 'aria-pressed': String(group === 'all'), 'data-group': group, onclick: () => this.#setGroup(group) },
        GROUP_LABELS[group],
      )
      this.#chips.set(group, chip)
      chips.append(chip)
    }
    const search = h('input', {
      type: 'search',
      id: 'celeriac-task-search',
      placeholder: 'task id or name',
      autocomplete: 'off',
      oninput: (event) => {
        this.#search = (event.target as HTMLInputElement).value
        this.render()
      },
    })
    this.#body = h('tbody')
    this.#count = h('span', { class: 'count', 'aria-live': 'polite' })
    this.#body.addEventListener('keydown', (event) => this.#key(event))
    this.element = h(
      'section',
      { class: 'panel tasks', 'aria-labelledby': 'celeriac-tasks-title' },
      h('h2', { id: 'celeriac-tasks-title' }, 'Tasks ', this.#count),
      h('div', { class: 'filters' }, chips, h('label', { class: 'search', for: 'celeriac-task-search' }, 'Search ', search)),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { class: 'task-table' },
          h('caption', { class: 'sr-only' }, 'Tasks, newest first; press Enter on a row for its details'),
          h('thead', {}, h('tr', {}, ...['State', 'Task', 'Id', 'Queue', 'Progress'].map((c) => h('th', { scope: 'col' }, c)))),
          this.#body,
        ),
      ),
    )
  }

  /** Redraws the rows if the board or the filter changed; `selected` is highlighted. */
  render(selected = this.#selected, force = false): void {
    this.#selected = selected
    const key = `${String(this.#board.version)}|${this.#group}|${this.#search}|${selected ?? ''}`
    if (key === this.#drawn && !force) return
    this.#drawn = key
    const rows = this.#board.list(this.#group, this.#search)
    const focused = (this.element.getRootNode() as Document | ShadowRoot).activeElement
    const focusedId = focused instanceof HTMLElement && this.#body.contains(focused) ? focused.dataset.id : undefined
    const shown = rows.slice(0, SHOWN)
    const stop = focusedId ?? (shown.some((r) => r.id === selected) ? selected : shown[0]?.id)
    this.#body.replaceChildren(
      ...shown.map((row) =>
        h(
          'tr',
          {
            tabindex: row.id === stop ? 0 : -1,
            'data-id': row.id,
            'data-state': row.state,
            'aria-selected': String(row.id === selected),
            title: row.id,
            onclick: () => this.#onSelect(row.id),
          },
          h('td', {}, h('span', { class: `state state-${row.state.toLowerCase()}` }, row.state)),
          h('td', { class: 'name' }, row.name),
          h('td', { class: 'id' }, shortId(row.id)),
          h('td', {}, row.queue),
          h('td', {}, row.progress === undefined ? '' : progressBar(`progress of ${row.name} ${shortId(row.id)}`, row.progress.current, row.progress.total)),
        ),
      ),
    )
    this.#count.textContent = rows.length > SHOWN ? `(${String(SHOWN)} of ${String(rows.length)})` : `(${String(rows.length)})`
    if (focusedId !== undefined) this.#body.querySelector<HTMLElement>(`tr[data-id="${CSS.escape(focusedId)}"]`)?.focus()
  }

  #setGroup(group: StateGroup): void {
    this.#group = group
    for (const [g, chip] of this.#chips) chip.setAttribute('aria-pressed', String(g === group))
    this.render()
  }

  #key(event: KeyboardEvent): void {
    const row = (event.target as HTMLElement).closest('tr')
    if (row === null) return
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault()
      if (row.dataset.id !== undefined) this.#onSelect(row.dataset.id)
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault()
      const next = event.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling
      if (next instanceof HTMLElement) {
        row.tabIndex = -1
        next.tabIndex = 0
        next.focus()
      }
    }
  }
}
