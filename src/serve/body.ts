/** Request bodies: JSON objects of at most 64 KiB, their fields checked. */
import type { IncomingMessage } from 'node:http'
import { HttpError } from './errors.js'

/** The largest body read; beyond it the request is 413. */
const MAX_BODY_BYTES = 64 * 1024

/** Reads the body as a JSON object; an empty body is `{}` (so `curl -X POST` alone works for optional fields). */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) throw tooLarge()
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw tooLarge()
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new HttpError(400, 'BAD_REQUEST', `the body is not JSON (${(error as Error).message}); send a JSON object`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HttpError(400, 'BAD_REQUEST', 'the body must be a JSON object')
  return parsed as Record<string, unknown>
}

/** Refuses fields other than `allowed` (a typo would otherwise be silently ignored). */
export function onlyFields(body: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const extra = Object.keys(body).filter((k) => !allowed.includes(k))
  if (extra.length > 0) {
    const known = allowed.length === 0 ? 'none' : allowed.join(', ')
    throw new HttpError(400, 'BAD_REQUEST', `${where}: unknown field ${extra.map((k) => `'${k}'`).join(', ')} (fields: ${known})`)
  }
}

/** A non-empty string field, or undefined when absent and not `required`. */
export function stringField(body: Record<string, unknown>, name: string, where: string, required: true): string
export function stringField(body: Record<string, unknown>, name: string, where: string, required: false): string | undefined
export function stringField(body: Record<string, unknown>, name: string, where: string, required: boolean): string | undefined {
  const value = body[name]
  if (value === undefined && !required) return undefined
  if (typeof value !== 'string' || value === '')
    throw new HttpError(400, 'BAD_REQUEST', `${where}: '${name}' must be a non-empty string${required ? ' (required)' : ''}`)
  return value
}

function tooLarge(): HttpError {
  return new HttpError(413, 'PAYLOAD_TOO_LARGE', `the body is larger than ${String(MAX_BODY_BYTES)} bytes`)
}
