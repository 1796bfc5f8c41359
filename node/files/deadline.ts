/**
 * Time limits for each step of a long session (every chunk read or written) that also end
 * when `parent` aborts. One listener on `parent` for the whole session: a fresh
 * AbortSignal.any() per step would pile thousands of listeners onto `parent` for one file.
 */
export class Deadline {
  private readonly controller = new AbortController()
  private readonly onParent = (): void => { this.controller.abort(this.parent.reason) }

  constructor (private readonly parent: AbortSignal, private readonly ms: number) {
    if (parent.aborted) this.controller.abort(parent.reason)
    else parent.addEventListener('abort', this.onParent, { once: true })
  }

  get signal (): AbortSignal { return this.controller.signal }

  /** Runs one step; the session is aborted if it takes longer than the limit. */
  async step<T> (what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const timer = setTimeout(() => { this.controller.abort(new Error(`${what} took longer than ${this.ms} ms`)) }, this.ms)
    try {
      return await run(this.controller.signal)
    } finally {
      clearTimeout(timer)
    }
  }

  close (): void {
    this.parent.removeEventListener('abort', this.onParent)
  }
}
