/**
 * Faults the mesh lab injects into a node (only a node started with `--lab` takes them):
 * gossip this node receives is delayed, dropped, or squeezed through a bandwidth limit
 * before it is applied and relayed. The machines the lab runs on have no `tc netem`
 * (DESIGN.md), so delay and loss live here; dropped gossip is what sync has to repair.
 */
import { seededRandom } from './seeded-random.js'

export interface Faults {
  delayMs: number
  /** fraction of gossip messages dropped, 0 to below 1 */
  loss: number
  /** bandwidth of received gossip; null: unlimited */
  bitsPerSecond: number | null
  /** makes the losses replayable */
  seed?: number
}

export const NO_FAULTS: Faults = { delayMs: 0, loss: 0, bitsPerSecond: null }

export class FaultInjector {
  private faults: Faults = NO_FAULTS
  private random = seededRandom(1)
  /** when the limited link is next free, in ms (performance.now) */
  private linkFreeAt = 0
  readonly stats = { admitted: 0, dropped: 0 }

  set (faults: Faults): Faults {
    if (!(faults.loss >= 0 && faults.loss < 1)) throw new RangeError('loss is a fraction from 0 to below 1')
    if (!(faults.delayMs >= 0 && faults.delayMs <= 60_000)) throw new RangeError('delay is 0 to 60000 ms')
    if (faults.bitsPerSecond != null && !(faults.bitsPerSecond >= 8000)) throw new RangeError('a bandwidth limit is at least 8000 bits/s')
    this.faults = { ...faults }
    this.random = seededRandom(faults.seed ?? 1)
    return this.current()
  }

  current (): Faults & { admitted: number, dropped: number } {
    return { ...this.faults, ...this.stats }
  }

  get active (): boolean {
    return this.faults.delayMs > 0 || this.faults.loss > 0 || this.faults.bitsPerSecond != null
  }

  /** Resolves true when a received message of `bytes` may go on, after its delay; false: dropped. */
  async admit (bytes: number): Promise<boolean> {
    const { delayMs, loss, bitsPerSecond } = this.faults
    if (loss > 0 && this.random() < loss) {
      this.stats.dropped++
      return false
    }
    let waitMs = delayMs
    if (bitsPerSecond != null) {
      // Messages queue for the link one after another, as on a slow wire.
      const now = performance.now()
      this.linkFreeAt = Math.max(this.linkFreeAt, now) + bytes * 8 * 1000 / bitsPerSecond
      waitMs += this.linkFreeAt - now
    }
    if (waitMs > 0) await new Promise(resolve => setTimeout(resolve, waitMs))
    this.stats.admitted++
    return true
  }
}
