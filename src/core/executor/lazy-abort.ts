/** The abort of one run, made on first use. */
/**
 * An AbortController made on first use: most tasks never look at `self.signal`, and creating a
 * controller per run was a tenth of the inline hot path.
 */
export class LazyAbort {
  #controller: AbortController | undefined
  #reason: unknown
  #aborted = false

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      if (this.#aborted) this.#controller.abort(this.#reason)
    }
    return this.#controller.signal
  }

  get aborted(): boolean {
    return this.#aborted
  }

  abort(reason: unknown): void {
    if (this.#aborted) return
    this.#aborted = true
    this.#reason = reason
    this.#controller?.abort(reason)
  }
}
