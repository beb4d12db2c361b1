/**
 * Seed: "Task Context and Metadata" — what `self.request` holds, and headers that persist
 * through a chain (a correlation id).
 */
import { Celeriac, chain } from '../../src/index.js'
import { runIfMain } from './main.js'

export async function run() {
  const app = new Celeriac()
  const lines: string[] = []
  app.events.on('log', (line) => lines.push(line.text))

  const taskWithContext = app.task('ctx.inspect', { bind: true }, (self, _data: unknown) => ({
    taskId: self.request.id,
    taskName: self.name,
    retries: self.request.retries,
    hostname: self.request.hostname,
    deliveryInfo: self.request.deliveryInfo,
    calledDirectly: self.request.calledDirectly,
    parentId: self.request.parentId,
    rootId: self.request.rootId, // the task that started the workflow
    customHeader: self.request.headers.my_header ?? null,
  }))
  const stepOne = app.task('ctx.step_one', { bind: true }, (self, data: string) => {
    const correlationId = String(self.request.headers.correlation_id)
    self.log.info(`[${correlationId}] Processing step one`)
    return data.toUpperCase()
  })
  const stepTwo = app.task('ctx.step_two', { bind: true }, (self, data: string) => {
    self.log.info(`[${String(self.request.headers.correlation_id)}] Processing step two`)
    return `${data}!`
  })

  await app.start()
  const inspected = await (await taskWithContext.applyAsync([{}], { headers: { my_header: 'hello' } })).get()
  const chained = await chain(stepOne.s('data'), stepTwo.s()).applyAsync([], { headers: { correlation_id: 'abc-123' } })
  const outcome = { inspected, chained: await chained.get(), lines }
  await app.stop()
  return outcome
}

runIfMain(import.meta, run)
