/**
 * Message ids as BullMQ job ids. BullMQ refuses a custom id with ':' (its key separator) and one
 * that reads as an integer (its own ids are counters), so both are escaped, reversibly: '%' and
 * ':' become '%25' and '%3A', and an id that would still read as an integer gets a '%i' mark in
 * front (never produced by the escapes, so it cannot be confused with one). A UUID, the usual
 * id, is left as it is, so it is the same in BullMQ's UIs.
 */

const INTEGER_MARK = '%i'

/** The job id of message `id`. */
export function toJobId(id: string): string {
  const escaped = id.replace(/%/g, '%25').replace(/:/g, '%3A')
  // The same test BullMQ applies (`${parseInt(id, 10)}` === id).
  return String(Number.parseInt(escaped, 10)) === escaped ? INTEGER_MARK + escaped : escaped
}

/** The message id of job id `jobId` (the inverse of {@link toJobId}). */
export function fromJobId(jobId: string): string {
  const body = jobId.startsWith(INTEGER_MARK) ? jobId.slice(INTEGER_MARK.length) : jobId
  return body.replace(/%(25|3A)/g, (_, code: string) => (code === '25' ? '%' : ':'))
}
