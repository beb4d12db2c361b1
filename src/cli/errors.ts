/**
 * The CLI's errors, each with the exit code a shell user expects. They never leave the CLI's
 * process (nothing catches them but `index.ts`), so they are not part of the library's
 * CeleriacError codes.
 */

/**
 * Exit codes: 0 ok, 1 the app refused or failed (or `--dir` is damaged or no store), 2 a usage error
 * (as commander's), 3 no endpoint answered, 4 `--dir` names a directory a live process owns.
 */
export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3, owned: 4 } as const

type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** Base of the CLI's errors: `code` is a stable name, `exitCode` what the process exits with. */
export class CliError extends Error {
  static {
    CliError.prototype.name = 'CliError'
  }
  readonly code: string
  readonly exitCode: ExitCode
  constructor(code: string, message: string, exitCode: ExitCode) {
    super(message)
    this.code = code
    this.exitCode = exitCode
  }
}

/** The command line is wrong in a way commander cannot see (no endpoint given, a bad URL). */
export class UsageError extends CliError {
  static {
    UsageError.prototype.name = 'UsageError'
  }
  constructor(message: string) {
    super('USAGE', message, EXIT.usage)
  }
}

/** The endpoint answered with an error (4xx, 5xx): `code` is the one in its error body. */
export class EndpointError extends CliError {
  static {
    EndpointError.prototype.name = 'EndpointError'
  }
  readonly status: number
  constructor(status: number, code: string, message: string) {
    super(code, message, EXIT.refused)
    this.status = status
  }
}

/** No endpoint answered (refused, no such socket, timed out). */
export class ConnectError extends CliError {
  static {
    ConnectError.prototype.name = 'ConnectError'
  }
  constructor(message: string) {
    super('CANNOT_CONNECT', message, EXIT.unreachable)
  }
}
