import type { StreamReadRaw } from 'bullmq'
import { nextTurn } from '../next-turn.js'
import type { BackendContext } from './context.js'

/** The event stream and the blocking reads: a QueueEvents reader's and a Worker's wait for work. */

export function trimEvents(c: BackendContext, maxLength: number): Promise<number> {
  return c.run((q) => q.events.trim(maxLength))
}

export function publishEvent(c: BackendContext, fields: Record<string, string | number>, maxEvents: number): Promise<string> {
  return c.run((q) => q.events.add(fields, maxEvents))
}

export async function readEvents(c: BackendContext, id: string, blockTimeout: number): Promise<StreamReadRaw> {
  await c.waitUntilReady()
  const q = c.q
  const cursor = id === '$' ? q.events.lastId : id
  let entries = q.events.after(cursor)
  if (entries.length === 0 && c.closing === undefined) {
    await c.waits.waitFor((wake) => q.events.onAppend(wake), blockTimeout)
    entries = q.events.after(cursor)
  }
  if (entries.length === 0) return null as unknown as StreamReadRaw
  return [[c.toKey('events'), entries.map((e) => [e.id, [...e.fields]])]] as unknown as StreamReadRaw
}

export async function waitForJob(c: BackendContext, blockTimeout: number): Promise<{ member: string; score: number } | null> {
  await c.waitUntilReady()
  if (c.closing !== undefined) return null
  const answer = await c.waits.waitForJob(c.q, blockTimeout)
  // A woken worker hears after the writer that woke it (a Redis server replies to the script's
  // caller first): on durable storage, once that write is stored.
  await c.store.settled()
  await nextTurn()
  return answer
}

export async function disconnectBlocking(c: BackendContext): Promise<void> {
  c.waits.interrupt()
}

export async function reconnectBlocking(c: BackendContext): Promise<void> {
  c.waits.resume()
}
