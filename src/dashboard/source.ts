/** The dashboard's one way to the app: `httpSource` (the control endpoint) or `appSource` (an app in the page). */
import type { DashboardEvent, InspectSnapshot, ResultView } from './types.js'

/**
 * Whether the live event stream is connected, for the dashboard's status line; `'refused'`: the
 * endpoint refused the token, and the source stopped trying.
 *
 * @example
 * const status = document.getElementById('status')!
 * source.subscribe(() => {}, (state) => (status.textContent = state)) // 'live', 'reconnecting', ...
 */
export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'refused'

/**
 * Everything the dashboard asks of an app. Two implementations ship: {@link httpSource} and
 * {@link appSource}; a test or another transport may bring its own.
 *
 * @example
 * const source = httpSource('http://127.0.0.1:8555', token) // or appSource(app)
 */
export interface DashboardSource {
  /** Tasks running, ready and scheduled, and the queues. */
  inspect(): Promise<InspectSnapshot>
  /** A task's stored result (PENDING when none is stored). */
  result(id: string): Promise<ResultView>
  /** Revokes a task; `terminate` also stops it if it runs. */
  revoke(id: string, options?: { terminate?: boolean }): Promise<void>
  /**
   * Sends a failed or revoked task again, as a new task with a new id, from the name and
   * arguments its `task-sent` event carried; resolves with the new id.
   */
  retry(id: string): Promise<string>
  /** Pauses a queue (`app.control.pause`). */
  pause(queue: string): Promise<void>
  /** Resumes a paused queue (`app.control.resume`). */
  resume(queue: string): Promise<void>
  /**
   * Calls `listener` with each event of the app from now on, and `state` when the stream
   * connects or is lost; returns a function that stops listening.
   */
  subscribe(listener: (event: DashboardEvent) => void, state?: (state: StreamState) => void): () => void
}
