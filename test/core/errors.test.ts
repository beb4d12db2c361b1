import { describe, expect, it } from 'vitest'
import * as celeriac from '../../src/index.js'
import type { ErrorCode } from '../../src/index.js'

/** DESIGN §3's error classes, by code; `satisfies` keeps this list and the `ErrorCode` union the same. */
const CLASS_OF_CODE = {
  NOT_REGISTERED: 'NotRegistered',
  SERIALIZATION: 'SerializationError',
  TASK_ERROR: 'TaskError',
  RETRY: 'Retry',
  MAX_RETRIES_EXCEEDED: 'MaxRetriesExceededError',
  TASK_REVOKED: 'TaskRevokedError',
  TIME_LIMIT_EXCEEDED: 'TimeLimitExceeded',
  SOFT_TIME_LIMIT_EXCEEDED: 'SoftTimeLimitExceeded',
  CHORD_ERROR: 'ChordError',
  TIMEOUT: 'TimeoutError',
  REJECT: 'Reject',
  IGNORE: 'Ignore',
  WORKER_LOST: 'WorkerLostError',
  // Not in DESIGN §3: issue 14 item 6 added it (a worker pool that cannot load its module).
  WORKER_LOAD: 'WorkerLoadError',
  STORAGE: 'StorageError',
  CONFIG: 'ConfigError',
  // Not in DESIGN §3: issue 17 item 4 added it (a message on a broker's queue that cannot be read).
  BAD_MESSAGE: 'MessageError',
  // Not in DESIGN §3: issue 19 item 3 added it (celeriac/remote: the port closed with calls waiting).
  CHANNEL_CLOSED: 'ChannelClosedError',
} as const satisfies Record<ErrorCode, string>

type AnyErrorClass = new (...args: unknown[]) => celeriac.CeleriacError

describe('error codes', () => {
  const classes = Object.entries(celeriac as Record<string, unknown>).filter(
    (entry): entry is [string, AnyErrorClass] => typeof entry[1] === 'function' && entry[1].prototype instanceof celeriac.CeleriacError,
  )

  it('the root entry exports every error class of DESIGN §3, and no other', () => {
    expect(classes.map(([name]) => name).sort()).toEqual(Object.values(CLASS_OF_CODE).sort())
  })

  it('each ErrorCode belongs to exactly one class, which sets it', () => {
    const codes = classes.map(([name, cls]) => {
      const error = new cls('message', 'x')
      expect(error.name, name).toBe(name)
      expect(CLASS_OF_CODE[error.code], `${name}.code = ${error.code}`).toBe(name)
      return error.code
    })
    expect(codes.sort()).toEqual(Object.keys(CLASS_OF_CODE).sort())
  })
})
