/**
 * `celeriac/dashboard`: the live dashboard, to mount in a page of your own, over the control
 * endpoint (`httpSource`) or over an app in the same page (`appSource`, e.g. on IndexedDB).
 * The endpoint serves the same dashboard at `/dashboard/`.
 */
export { mountDashboard } from './mount.js'
export type { Dashboard, DashboardOptions } from './mount.js'
export { httpSource } from './http-source.js'
export { appSource } from './app-source.js'
export type { DashboardSource, StreamState } from './source.js'
export type { DashboardEvent, InspectSnapshot, QueueView, ResultView, TaskInfoView } from './types.js'
