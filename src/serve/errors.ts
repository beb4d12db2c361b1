/** The endpoint's errors: an HTTP status, a code and a message that says what to do, sent as `{ error: { code, message } }`. */
import { CeleriacError } from '../core/model/errors.js'

/** The codes the endpoint itself answers with (a CeleriacError from the app keeps its own code). */
export type HttpErrorCode = 'BAD_REQUEST' | 'UNAUTHORIZED' | 'NOT_FOUND' | 'METHOD_NOT_ALLOWED' | 'PAYLOAD_TOO_LARGE' | 'NOT_BUILT' | 'INTERNAL'

/** A request the endpoint refuses, before it reaches the app. */
export class HttpError extends Error {
  static {
    HttpError.prototype.name = 'HttpError'
  }
  readonly status: number
  readonly code: HttpErrorCode
  constructor(status: number, code: HttpErrorCode, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** What the client is told: status and body. */
export interface ErrorReply {
  status: number
  body: { error: { code: string; message: string } }
}

/**
 * The reply for anything a handler threw. The app's ConfigError and NotRegistered are the
 * caller's input the app refused (a queue it does not declare, a bad id): 422 with their code.
 * Any other error is ours or the app's: 500, with a CeleriacError's code (STORAGE, TIMEOUT...) or
 * INTERNAL, and its message, which the operator needs more than a secret would.
 */
export function errorReply(error: unknown): ErrorReply {
  if (error instanceof HttpError) return reply(error.status, error.code, error.message)
  if (error instanceof CeleriacError) {
    const refused = error.code === 'CONFIG' || error.code === 'NOT_REGISTERED'
    return reply(refused ? 422 : 500, error.code, error.message)
  }
  return reply(500, 'INTERNAL', error instanceof Error ? error.message : String(error))
}

function reply(status: number, code: string, message: string): ErrorReply {
  return { status, body: { error: { code, message } } }
}
