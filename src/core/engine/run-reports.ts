/**
 * Run reports: what the runs held by this process tell the broker for other processes' events
 * (Transport.events), built from the writes TransportStorage sees. Progress is always reported;
 * the start, the retry and the end only while some process listens (until a wall time the engine
 * sets from the listening processes' records), so a run costs no broker call nobody hears.
 */
import type { ResultRecord } from '../model/message.js'
import { FAILURE, RETRY, REVOKED, SUCCESS } from '../model/states.js'
import type { RunReport } from './transport.js'

export class RunReports {
  /** Until when (wall time, ms) runs report their start, retry and end. */
  #until = 0
  /** When each run held here started (app clock), while reporting: the runtime its end reports. */
  readonly #startedAt = new Map<string, number>()

  /** Runs report their start, retry and end until `wallTime` (the engine's RemoteEvents sets it). */
  until(wallTime: number): void {
    this.#until = wallTime
    if (!this.on()) this.#startedAt.clear()
  }

  /** Wall time on purpose: the listeners' records expire across processes, whatever app clocks they run on. */
  on(): boolean {
    return this.#until > 0 && Date.now() < this.#until
  }

  /** Run `id` started at `at` (app clock): its start report. */
  started(id: string, at: number): RunReport {
    this.#startedAt.set(id, at)
    return { type: 'started', at }
  }

  /** Run `id` goes back to the broker as it was (a requeue): no report. */
  forget(id: string): void {
    this.#startedAt.delete(id)
  }

  /** The retry report of run `id`, from the RETRY record its write stores (if any). */
  retried(id: string, record: ResultRecord | undefined, at: number, eta: number): RunReport {
    this.#startedAt.delete(id)
    return { type: 'retried', at, error: record?.state === RETRY ? record.result : null, eta }
  }

  /**
   * The end report of run `id`, from the result record its last write stores. (A write that
   * stores none reports nothing: a result not kept, an ignored run, or a redelivery whose outcome
   * was stored before, only acked now.)
   */
  end(id: string, record: ResultRecord, at: number): RunReport | undefined {
    const started = this.#startedAt.get(id)
    this.#startedAt.delete(id)
    const runtime = started === undefined ? 0 : at - started
    if (record.state === SUCCESS) return { type: 'succeeded', at, result: record.result, runtime }
    if (record.state === REVOKED) return { type: 'revoked', at, error: record.result }
    if (record.state === FAILURE) return { type: 'failed', at, error: record.result, runtime }
    return undefined
  }
}
