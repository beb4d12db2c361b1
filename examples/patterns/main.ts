/** Runs a pattern's `run()` when its file is executed directly (`npx tsx examples/patterns/<file>.ts`). */
import { pathToFileURL } from 'node:url'

export function runIfMain(meta: ImportMeta, run: () => Promise<unknown>): void {
  if (process.argv[1] === undefined || pathToFileURL(process.argv[1]).href !== meta.url) return
  run().then(
    (outcome) => console.dir(outcome, { depth: 6 }),
    (error: unknown) => {
      console.error(error)
      process.exitCode = 1
    },
  )
}
