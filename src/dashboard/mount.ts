/// <reference lib="dom" />
/**
 * `mountDashboard(element, { source })`: the live dashboard in an element of any page. Reads
 * `inspect` once at open, then follows the app's events; reads `inspect` again (queue counts,
 * tasks sent before it opened) at most once a second after events, and every 10 s otherwise:
 * never a request per event. Draws at most once per animation frame.
 */
import { h } from './dom.js'
import { QueuePanel } from './queue-panel.js'
import type { DashboardSource, StreamState } from './source.js'
import { DASHBOARD_CSS } from './styles.js'
import { TaskBoard } from './task-board.js'
import { TaskDetail } from './task-detail.js'
import { TaskList } from './task-list.js'
import { ThroughputChart } from './throughput-chart.js'
import { Throughput } from './throughput.js'

/**
 * Options of {@link mountDashboard}.
 *
 * @example
 * mountDashboard(document.getElementById('tasks')!, { source: appSource(app), title: 'Photos', maxTasks: 500 })
 */
export interface DashboardOptions {
  /** Where the data comes from: `httpSource(url, token)` or `appSource(app)`. */
  source: DashboardSource
  /** The heading. @default 'celeriac' */
  title?: string
  /** Tasks kept in the list, the most recent first; older ones are dropped. @default 1000 */
  maxTasks?: number
}

/**
 * A mounted dashboard.
 *
 * @example
 * const dashboard = mountDashboard(document.getElementById('tasks')!, { source: appSource(app) })
 * dashboard.unmount()
 */
export interface Dashboard {
  /** Stops listening and reading, and removes the dashboard from its element. */
  unmount(): void
}

const STATUS_TEXT: Record<StreamState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting… (events may have been missed)',
  refused: 'the endpoint refused the token: open the address serve() printed, with #token=…',
}

const SLOW_REFRESH_MS = 10_000
const EVENT_REFRESH_MS = 1_000
const CHART_MS = 1_000

/**
 * Mounts the live dashboard in `element` (in a shadow root of its own, so the page's styles and
 * the dashboard's do not mix): tasks with state filters and search, a task's arguments, result
 * or traceback, workflow tree and progress, the queues with Pause / Resume, a throughput chart,
 * and Revoke / Retry. Keyboard operable; sized for a laptop screen (give `element` a height).
 *
 * @example
 * import { appSource, mountDashboard } from 'celeriac/dashboard'
 * const dashboard = mountDashboard(document.getElementById('tasks')!, { source: appSource(app) })
 * // ...
 * dashboard.unmount()
 */
export function mountDashboard(element: HTMLElement, options: DashboardOptions): Dashboard {
  const { source } = options
  const host = h('div', { class: 'celeriac-dashboard' })
  host.style.height = '100%'
  element.append(host)
  const shadow = host.attachShadow({ mode: 'open' })
  const sheet = new CSSStyleSheet()
  sheet.replaceSync(DASHBOARD_CSS)
  shadow.adoptedStyleSheets = [sheet]

  const board = new TaskBoard(options.maxTasks ?? 1_000)
  const rates = new Throughput()
  const status = h('span', { class: 'status', role: 'status', 'data-state': 'connecting' }, 'connecting…')
  const message = h('span', { class: 'message', role: 'status', 'aria-live': 'polite' })
  const say = (text: string): void => {
    message.textContent = text
  }
  let stopped = false
  let refreshTimer: ReturnType<typeof setTimeout> | undefined
  let refreshing = false
  /** A read asked for while one was under way: it may have missed a change, so it reads once more. */
  let again = false

  const refresh = async (): Promise<void> => {
    if (stopped) return
    if (refreshing) {
      again = true
      return
    }
    refreshing = true
    try {
      const snapshot = await source.inspect()
      if (stopped) return
      board.merge(snapshot)
      queues.update(snapshot.queues ?? [])
      request()
    } catch (error) {
      say(`Could not read the app: ${error instanceof Error ? error.message : String(error)}`)
    } finally {
      refreshing = false
    }
    if (again) {
      again = false
      await refresh()
    }
  }
  /** Reads `inspect` again after `ms`, unless a read is already due sooner. */
  let due = Number.POSITIVE_INFINITY
  const refreshIn = (ms: number): void => {
    if (stopped || Date.now() + ms >= due) return
    clearTimeout(refreshTimer)
    due = Date.now() + ms
    refreshTimer = setTimeout(() => {
      due = Number.POSITIVE_INFINITY
      void refresh().finally(() => refreshIn(SLOW_REFRESH_MS))
    }, ms)
  }

  const select = (id: string): void => {
    detail.select(id)
    request()
  }
  const list = new TaskList(board, select)
  const detail = new TaskDetail(board, source, say, select)
  const queues = new QueuePanel(source, rates, say, () => refreshIn(0))
  const chart = new ThroughputChart(rates, Date.now())

  let frame: number | undefined
  const draw = (): void => {
    frame = undefined
    if (stopped) return
    const now = Date.now()
    list.render(detail.selected)
    detail.render()
    queues.render(now)
    chart.render(now)
  }
  /** Draws on the next animation frame, once however many changes came before it. */
  const request = (): void => {
    if (frame === undefined && !stopped) frame = requestAnimationFrame(draw)
  }

  shadow.append(
    h(
      'div',
      { class: 'root' },
      h('header', {}, h('h1', {}, options.title ?? 'celeriac'), status, message),
      queues.element,
      chart.element,
      list.element,
      detail.element,
    ),
  )
  const resize = new ResizeObserver(() => chart.resize())
  resize.observe(chart.element)

  const unsubscribe = source.subscribe(
    (event) => {
      if (board.apply(event)) request()
      if (event.type === 'task-succeeded' || event.type === 'task-failed') {
        rates.count(event.type === 'task-succeeded' ? 'succeeded' : 'failed', String(event.data.queue ?? '-'), Date.now())
      }
      refreshIn(EVENT_REFRESH_MS)
    },
    (state: StreamState) => {
      status.dataset.state = state
      status.textContent = STATUS_TEXT[state]
      // Events may have been missed while the stream was down: read the state again.
      if (state === 'live') refreshIn(0)
    },
  )
  const tick = setInterval(request, CHART_MS)
  void refresh().finally(() => refreshIn(SLOW_REFRESH_MS))

  return {
    unmount() {
      if (stopped) return
      stopped = true
      unsubscribe()
      clearInterval(tick)
      clearTimeout(refreshTimer)
      if (frame !== undefined) cancelAnimationFrame(frame)
      resize.disconnect()
      chart.destroy()
      host.remove()
    },
  }
}
