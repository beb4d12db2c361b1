/** The bearer token every request must carry. */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** Checks `Authorization: Bearer <token>` in constant time (digests of equal length, so the token's length does not leak either). */
export function bearerCheck(token: string): (req: IncomingMessage) => boolean {
  const expected = digest(token)
  return (req) => {
    const header = req.headers.authorization
    if (header === undefined) return false
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    if (match?.[1] === undefined) return false
    return timingSafeEqual(digest(match[1]), expected)
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
