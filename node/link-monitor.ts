import { logger } from '@libp2p/logger'
import type { AbortOptions, Connection, PeerId, Startable } from '@libp2p/interface'

const log = logger('outpost:link-monitor')

/** How often every connection is pinged... */
export const LINK_PING_INTERVAL_MS = 6_000
/** ...and how long an answer may take before the connection counts as dead. */
export const LINK_PING_TIMEOUT_MS = 5_000

/** What the monitor needs of a connection's muxer: yamux answers a PING frame with a PONG. */
interface PingableMuxer {
  ping: (options?: AbortOptions) => Promise<number>
}

export interface LinkMonitorComponents {
  connectionManager: { getConnections: () => Connection[] }
  /** libp2p's ping service: used for a connection whose muxer cannot ping */
  ping?: { ping: (peer: PeerId, options?: AbortOptions) => Promise<number> }
}

export interface LinkMonitorInit {
  intervalMs?: number
  timeoutMs?: number
}

/**
 * Notices dead links: every LINK_PING_INTERVAL_MS each connection is pinged, and one that
 * gives no answer within LINK_PING_TIMEOUT_MS is aborted, so that redial and sync start
 * within seconds of a cut (a TCP connection whose peer vanished stays "open" for minutes).
 *
 * This replaces libp2p's connection monitor, which opened a new ping stream on every
 * connection each time: a stream negotiation and two peer-store merges per ping, the
 * largest part of an idle node's CPU among 20 (`OUTPOST_LAB_NODE_ARGS=--cpu-prof
 * node dist/test/bench/run.js --only idle`). Here a ping is one yamux PING frame each way.
 * The muxer is reached through the connection's `muxer` property, which libp2p 3's
 * Connection has but does not declare; without it, libp2p's ping service is used.
 * One ping at a time per connection: a busy link may queue it behind a file's chunks for
 * as long as the timeout.
 */
export class LinkMonitor implements Startable {
  readonly [Symbol.toStringTag] = 'outpost:link-monitor'
  private timer: NodeJS.Timeout | null = null
  private readonly inFlight = new Set<string>()
  private readonly intervalMs: number
  private readonly timeoutMs: number
  /** pings answered and connections aborted, for tests and stats */
  readonly stats = { pings: 0, aborted: 0 }

  constructor (private readonly components: LinkMonitorComponents, init: LinkMonitorInit = {}) {
    this.intervalMs = init.intervalMs ?? LINK_PING_INTERVAL_MS
    this.timeoutMs = init.timeoutMs ?? LINK_PING_TIMEOUT_MS
  }

  start (): void {
    if (this.timer != null) return
    this.timer = setInterval(() => { this.tick() }, this.intervalMs)
    this.timer.unref()
  }

  stop (): void {
    if (this.timer != null) clearInterval(this.timer)
    this.timer = null
  }

  private tick (): void {
    for (const conn of this.components.connectionManager.getConnections()) {
      if (conn.status !== 'open' || this.inFlight.has(conn.id)) continue
      this.inFlight.add(conn.id)
      this.check(conn).finally(() => { this.inFlight.delete(conn.id) }).catch(() => {})
    }
  }

  private async check (conn: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.timeoutMs)
    const muxer = (conn as unknown as { muxer?: Partial<PingableMuxer> }).muxer
    try {
      if (typeof muxer?.ping === 'function') await raced(muxer.ping({ signal }), signal)
      else if (this.components.ping != null) await raced(this.components.ping.ping(conn.remotePeer, { signal }), signal)
      else return
      this.stats.pings++
    } catch (err) {
      if (conn.status !== 'open') return
      this.stats.aborted++
      log('no answer from %p to a ping within %d ms (%s): closing the connection', conn.remotePeer, this.timeoutMs, (err as Error).message)
      conn.abort(new Error(`no answer to a ping within ${this.timeoutMs} ms`))
    }
  }
}

/** `promise`, or a rejection when `signal` aborts first (whether or not the callee heeds it). */
async function raced<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort = (): void => {}
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(signal.reason ?? new Error('aborted')) }
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

export function linkMonitor (init: LinkMonitorInit = {}): (components: LinkMonitorComponents) => LinkMonitor {
  return (components) => new LinkMonitor(components, init)
}
