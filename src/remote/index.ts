/**
 * `celeriac/remote`: an app's producer across a MessagePort. `serveApp(app, port)` where the
 * engine runs, `remoteApp(port)` anywhere else (an Electron renderer, a page, a worker).
 * Environment-neutral: no `node:*`, no DOM.
 */
export { serveApp } from './serve-app.js'
export type { ServedApp } from './serve-app.js'
export { remoteApp } from './remote-app.js'
export type { RemoteApp, RemoteInspect, RemoteControl } from './remote-app.js'
export type { RemoteTask, TaskArgs, TaskResult } from './remote-task.js'
export type { MessagePortLike } from './port.js'
export { ChannelClosedError } from '../core/model/errors.js'
