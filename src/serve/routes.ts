/**
 * The endpoint's routes (the contract in CONTROL-API.md): each path, its methods, and what each
 * answers, as data the server sends as JSON. `/v1/events` is the stream, served by `serve.ts`.
 */
import type { IncomingMessage } from 'node:http'
import type { Celeriac } from '../core/app/app.js'
import { retryTask } from '../dashboard/retry.js'
import type { SentTasks } from '../dashboard/sent-tasks.js'
import { onlyFields, readJsonObject, stringField } from './body.js'
import { HttpError } from './errors.js'
import { toWire } from './wire.js'

/** What a handler may need beyond the app: the tasks sent while an event stream was open (for retry). */
interface RouteContext {
  sent: SentTasks
}

/** Answers one request with a value sent as JSON. */
type Handler = (app: Celeriac, req: IncomingMessage, param: string, context: RouteContext) => unknown

/** The methods of one path: a handler, or `'events'` for the SSE stream. */
type Methods = Readonly<Partial<Record<string, Handler | 'events'>>>

const inspect = (read: (app: Celeriac) => unknown): Methods => ({ GET: (app) => toWire(read(app)) })

const EXACT: Readonly<Record<string, Methods>> = {
  '/v1/inspect/active': inspect((app) => app.inspect.active()),
  '/v1/inspect/scheduled': inspect((app) => app.inspect.scheduled()),
  '/v1/inspect/reserved': inspect((app) => app.inspect.reserved()),
  '/v1/inspect/revoked': inspect((app) => app.inspect.revoked()),
  '/v1/inspect/stats': inspect((app) => app.inspect.stats()),
  '/v1/inspect/queues': inspect((app) => app.inspect.queues()),
  '/v1/schedules': { GET: async (app) => toWire(await app.schedules.list()) },
  '/v1/events': { GET: 'events' },
  '/v1/control/revoke': {
    POST: async (app, req) => {
      const body = await readJsonObject(req)
      onlyFields(body, ['ids', 'terminate'], 'revoke')
      const ids = idsField(body.ids)
      if (body.terminate !== undefined && typeof body.terminate !== 'boolean') throw bad("revoke: 'terminate' must be true or false")
      await app.control.revoke(ids, { terminate: body.terminate === true })
      return { ok: true, ids }
    },
  },
  '/v1/control/purge': {
    POST: async (app, req) => {
      const body = await readJsonObject(req)
      onlyFields(body, ['queue'], 'purge')
      const purged = await app.control.purge(stringField(body, 'queue', 'purge', false))
      return { ok: true, purged }
    },
  },
  '/v1/control/retry': {
    POST: async (app, req, _param, context) => {
      const body = await readJsonObject(req)
      onlyFields(body, ['id'], 'retry')
      const id = stringField(body, 'id', 'retry', true)
      return { ok: true, id: await retryTask(app, context.sent, id) }
    },
  },
  '/v1/control/pause': {
    POST: async (app, req) => {
      await app.control.pause(await queueOf(req, 'pause'))
      return { ok: true }
    },
  },
  '/v1/control/resume': {
    POST: async (app, req) => {
      await app.control.resume(await queueOf(req, 'resume'))
      return { ok: true }
    },
  },
}

const RESULTS = '/v1/results/'
const results: Methods = {
  GET: async (app, _req, id) => toWire(await app.AsyncResult(id).status()),
}

/** The route of a path, with the id a `/v1/results/<id>` carries; undefined for an unknown path. */
export function route(pathname: string): { methods: Methods; param: string } | undefined {
  const exact = EXACT[pathname]
  if (exact !== undefined) return { methods: exact, param: '' }
  if (pathname.startsWith(RESULTS)) {
    const raw = pathname.slice(RESULTS.length)
    if (raw === '' || raw.includes('/')) return undefined
    let id: string
    try {
      id = decodeURIComponent(raw)
    } catch {
      throw bad(`results: '${raw}' is not a well-formed URL-encoded task id`)
    }
    return { methods: results, param: id }
  }
  return undefined
}

/** The methods a path allows, for a 405's `Allow` header. */
export function allowed(methods: Methods): string[] {
  return Object.keys(methods)
}

function idsField(value: unknown): string[] {
  const ids = typeof value === 'string' ? [value] : value
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id): id is string => typeof id === 'string' && id !== '')) {
    throw bad("revoke: 'ids' must be a task id or a non-empty array of them (required)")
  }
  return ids
}

async function queueOf(req: IncomingMessage, where: string): Promise<string> {
  const body = await readJsonObject(req)
  onlyFields(body, ['queue'], where)
  return stringField(body, 'queue', where, true)
}

function bad(message: string): HttpError {
  return new HttpError(400, 'BAD_REQUEST', message)
}
