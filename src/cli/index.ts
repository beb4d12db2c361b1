#!/usr/bin/env node
/**
 * `celeriac`, the command line (`npx celeriac --help`): runs the program and turns what ends it
 * into the exit code a shell user expects (0 ok, 1 refused by the app, 2 usage, 3 unreachable).
 */
import { CommanderError } from 'commander'
import { CliError, EXIT } from './errors.js'
import { buildProgram } from './program.js'

async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json')
  const program = buildProgram({ out: (text) => process.stdout.write(`${text}\n`), warn: (text) => process.stderr.write(`${text}\n`) })
  try {
    await program.parseAsync(argv, { from: 'user' })
    return EXIT.ok
  } catch (error) {
    // commander has printed its message (or the help) already.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage
    if (error instanceof CliError) {
      process.stderr.write(json ? `${JSON.stringify({ error: { code: error.code, message: error.message } })}\n` : `celeriac: ${error.message}\n`)
      return error.exitCode
    }
    throw error
  }
}

// `celeriac events | head -1`: the reader is gone, which is how a pipe says "enough".
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error
  process.exit(EXIT.ok)
})

// The exit code is set, not forced with process.exit, so stdout is flushed when piped.
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
