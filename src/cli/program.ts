/**
 * The `celeriac` command line (commander): its commands, their options and help, and what each
 * does with the endpoint's answer. Connection options and `--json` are the program's, so they
 * work before or after a command's name and show in each command's `--help`.
 */
import { Command, InvalidArgumentError } from 'commander'
import { ControlClient } from './client.js'
import { resolveSource } from './connection.js'
import type { ConnectionOptions } from './connection.js'
import type { DirectoryClient } from './directory.js'
import { UsageError } from './errors.js'
import * as render from './render.js'

interface GlobalOptions extends ConnectionOptions {
  json?: boolean
}

/** Where the CLI writes: stdout for answers, stderr for warnings. */
export interface Output {
  out(text: string): void
  warn(text: string): void
}

const INSPECT = {
  active: ['Tasks running now', (v: unknown) => render.tasks(v, 'active')],
  scheduled: ['Tasks waiting for their eta (countdown, retry delay)', (v: unknown) => render.tasks(v, 'scheduled')],
  reserved: ['Tasks ready to run, waiting for a slot or a rate-limit token', (v: unknown) => render.tasks(v, 'reserved')],
  revoked: ['Ids remembered as revoked', render.revoked],
  stats: ["The engine's counters and its worker pool's health", render.stats],
  queues: ['Each queue: paused or running, its concurrency and task counts', render.queues],
} as const satisfies Record<string, readonly [string, (value: unknown) => string]>

/** The program, ready for `parseAsync`. Its actions throw CliErrors; index.ts turns them into exit codes. */
export function buildProgram(output: Output): Command {
  const program = new Command('celeriac')
    .description(
      "Look at and control a running celeriac app through its control endpoint (serve() from 'celeriac/node'), " +
        'or read the file-storage directory of an app that is not running (--dir).',
    )
    .option('--url <url>', 'the endpoint, e.g. http://127.0.0.1:7777, or unix:PATH (env: CELERIAC_URL)')
    .option('--socket <path>', "the endpoint's Unix socket, instead of --url (env: CELERIAC_SOCKET)")
    .option('--token <token>', 'the token the app passed to serve() (env: CELERIAC_TOKEN)')
    .option('--dir <path>', 'read the fileStorage({ dir }) of an app that is not running, changing nothing; read commands only (env: CELERIAC_DIR)')
    .option('--json', 'print the JSON answer as it came (events: one JSON object a line)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .allowExcessArguments(false)
    .showSuggestionAfterError(true)
    .exitOverride()
  program.addHelpText(
    'after',
    `
Exit codes: 0 ok, 1 the app refused or failed, or --dir is damaged (message on stderr), 2 usage error,
3 cannot connect, 4 --dir is owned by a running app (ask it with --url).

Examples:
  export CELERIAC_URL=http://127.0.0.1:7777 CELERIAC_TOKEN=...
  celeriac inspect queues
  celeriac events --follow
  celeriac --dir ./data/celeriac result 5f1c...`,
  )

  const connect = async (command: Command): Promise<{ client: ControlClient | DirectoryClient; json: boolean }> => {
    const options = command.optsWithGlobals<GlobalOptions>()
    const source = resolveSource(options)
    if (source.kind !== 'dir') return { client: new ControlClient(source), json: options.json === true }
    // Loaded only for --dir: the file storage's decoding is not the endpoint client's start-up cost.
    const { DirectoryClient } = await import('./directory.js')
    return { client: new DirectoryClient(source.dir, (text) => output.warn(`celeriac: warning: ${text}`)), json: options.json === true }
  }
  /** Prints the answer: as JSON with --json, else as `human` renders it. */
  const print = (json: boolean, value: unknown, human: (value: unknown) => string): void => {
    output.out(json ? JSON.stringify(value, null, 2) : human(value))
  }

  const inspect = program.command('inspect').description("Look at what the app holds now (this process's view)")
  for (const [what, [description, human]] of Object.entries(INSPECT)) {
    inspect
      .command(what)
      .description(description)
      .action(async (_options: unknown, command: Command) => {
        const { client, json } = await connect(command)
        print(json, await client.get(`/v1/inspect/${what}`), human)
      })
  }

  program
    .command('result')
    .description("A task's stored result: state, value or error, traceback (PENDING for an id the app does not know, as Celery)")
    .argument('<id>', 'the task id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const { client, json } = await connect(command)
      print(json, await client.get(`/v1/results/${encodeURIComponent(id)}`), render.result)
    })

  program
    .command('revoke')
    .description('Revoke tasks: a waiting one never runs; with --terminate a running one is stopped')
    .argument('<id...>', 'task ids')
    .option('--terminate', 'also stop the task if it is running')
    .action(async (ids: string[], options: { terminate?: boolean }, command: Command) => {
      const { client, json } = await connect(command)
      const answer = await client.post('/v1/control/revoke', { ids, terminate: options.terminate === true })
      print(json, answer, () => `revoked ${ids.join(', ')}${options.terminate === true ? ' (terminated if running)' : ''}`)
    })

  program
    .command('purge')
    .description('Drop every waiting message of a queue (or, with --all, of every queue); running tasks go on')
    .argument('[queue]', 'the queue')
    .option('--all', 'purge every queue (needed when no queue is named)')
    .action(async (queue: string | undefined, options: { all?: boolean }, command: Command) => {
      if (queue === undefined && options.all !== true) throw new UsageError('name the queue to purge, or pass --all to purge every queue')
      if (queue !== undefined && options.all === true) throw new UsageError('name a queue or pass --all, not both')
      const { client, json } = await connect(command)
      const answer = await client.post('/v1/control/purge', queue === undefined ? {} : { queue })
      const purged = (answer as { purged?: unknown }).purged
      print(json, answer, () => `purged ${String(purged)} message${purged === 1 ? '' : 's'} from ${queue === undefined ? 'every queue' : `queue ${queue}`}`)
    })

  for (const [verb, description] of [
    ['pause', 'Pause a queue: nothing more of it runs (running tasks finish); sends to it wait. Stored: it outlasts a restart'],
    ['resume', 'Resume a paused queue: what waited in it runs'],
  ] as const) {
    program
      .command(verb)
      .description(description)
      .argument('<queue>', 'the queue')
      .action(async (queue: string, _options: unknown, command: Command) => {
        const { client, json } = await connect(command)
        print(json, await client.post(`/v1/control/${verb}`, { queue }), () => `${verb === 'pause' ? 'paused' : 'resumed'} queue ${queue}`)
      })
  }

  program
    .command('schedules')
    .description("The app's periodic tasks: timing, task, next slot, slots sent")
    .action(async (_options: unknown, command: Command) => {
      const { client, json } = await connect(command)
      print(json, await client.get('/v1/schedules'), render.schedules)
    })

  program
    .command('events')
    .description("Print the app's events as they happen, one line each (a progress bar for task-progress), until Ctrl-C or --max")
    .option('-f, --follow', 'keep following the live stream (the default: the stream has no history)')
    .option('--max <count>', 'stop after this many events', positiveInteger)
    .action(async (options: { max?: number }, command: Command) => {
      const { client, json } = await connect(command)
      const stop = new AbortController()
      const interrupt = (): void => stop.abort()
      process.once('SIGINT', interrupt)
      process.once('SIGTERM', interrupt)
      let seen = 0
      try {
        for await (const { event, data } of client.events(stop.signal)) {
          output.out(json ? JSON.stringify({ event, data }) : render.eventLine(event, data))
          seen += 1
          // One chunk may hold several events: stop at once, not when the next read comes.
          if (options.max !== undefined && seen >= options.max) break
        }
      } finally {
        process.off('SIGINT', interrupt)
        process.off('SIGTERM', interrupt)
      }
    })

  return program
}

function positiveInteger(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number >= 1')
  return n
}
