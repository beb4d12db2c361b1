/**
 * How the main thread takes a worker's reports off the worker's own port (see threads.ts,
 * startThread). Node delivers each message on a port as a callback of its own, with a microtask
 * checkpoint (the engine's commit round) after it; a worker posts about once a task, so taking
 * the few that wait behind the delivered one in the same callback saves most of those rounds.
 */
import { receiveMessageOnPort } from 'node:worker_threads'
import type { MessagePort } from 'node:worker_threads'

/**
 * At most this many reports are taken behind a delivered one. A worker that reports without
 * pause (progress from a loop of `await`s) could otherwise keep one callback going for as long as
 * it runs, with no microtask, timer or I/O of the main thread in between: Node bounds its own
 * delivery per turn of the event loop, and this keeps that bound within a small factor. A batch's
 * reports (one a run, 4 runs a batch by default) fit in one callback.
 */
export const REPORTS_PER_CALLBACK = 8

/** Hands `first` and up to {@link REPORTS_PER_CALLBACK} - 1 reports waiting behind it to `deliver`. */
export function takeReports<T>(port: MessagePort, first: T, deliver: (report: T) => void): void {
  deliver(first)
  for (let taken = 1; taken < REPORTS_PER_CALLBACK; taken++) {
    const next = receiveMessageOnPort(port)
    if (next === undefined) return
    deliver(next.message as T)
  }
}

/** Hands every report waiting on `port` to `deliver`: for a worker that has ended and posts no more. */
export function takeAllReports<T>(port: MessagePort, deliver: (report: T) => void): void {
  for (let next = receiveMessageOnPort(port); next !== undefined; next = receiveMessageOnPort(port)) deliver(next.message as T)
}
