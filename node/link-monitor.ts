import { logger } from '@libp2p/logger'
import type { AbortOptions, Connection, PeerId, Startable } from '@libp2p/interface'

const log = logger('outpost:link-monitor')

/** A connection that has received nothing for this long is pinged... */
export const LINK_QUIET_MS = 5_000
/** ...and counts as dead when the answer takes longer than this. */
export const LINK_PING_TIMEOUT_MS = 5_000
/** How often the monitor looks at its connections (a comparison each, no I/O). */
const LINK_CHECK_EVERY_MS = 1_000

/** What the monitor needs of a connection's muxer: yamux answers a PING frame with a PONG. */
interface PingableMuxer {
  ping: (options?: AbortOptions) => Promise<number>
}

export interface LinkMonitorComponents {
  connectionManager: { getConnections: () => Connection[] }
  /** libp2p's ping service: used for a connection whose muxer cannot ping */
  ping?: { ping: (peer: PeerId, options?: AbortOptions) => Promise<number> }
}

/** What the monitor needs of the connection under the encryption: libp2p calls onData with every read. */
interface Readable {
  onData: (data: unknown) => void
}

export interface LinkMonitorInit {
  /** ping a connection that received nothing for this long */
  quietMs?: number
  timeoutMs?: number
}

/**
 * Notices dead links: a connection that has received nothing for LINK_QUIET_MS is pinged,
 * and one that gives no answer within LINK_PING_TIMEOUT_MS is aborted, so that redial and
 * sync start within seconds of a cut (a TCP connection whose peer vanished stays "open"
 * for minutes). A silent link is noticed within about 11 s.
 *
 * Anything received proves the link as well as a pong, so a connection that carries
 * traffic is not pinged at all, and on an idle one the two ends take turns: each ping is
 * traffic for the other end. (Both ends pinged every connection every 6 s; pings and pongs
 * were almost half of the socket writes of an idle node with 19 connections, `node
 * dist/test/bench/run.js --only idle`.) What is received is seen through the connection's
 * `maConn.onData`, which libp2p 3 calls for every read; a connection without one is pinged
 * whenever its last answer is LINK_QUIET_MS old.
 *
 * This replaces libp2p's connection monitor, which opened a new ping stream on every
 * connection each time: a stream negotiation and two peer-store merges per ping. Here a
 * ping is one yamux PING frame each way. The muxer is reached through the connection's
 * `muxer` property, which libp2p 3's Connection has but does not declare (as `maConn`);
 * without it, libp2p's ping service is used. One ping at a time per connection.
 */
export class LinkMonitor implements Startable {
  readonly [Symbol.toStringTag] = 'outpost:link-monitor'
  private timer: NodeJS.Timeout | null = null
  private readonly inFlight = new Set<string>()
  /** per connection (its maConn, or itself without one): when it last received anything */
  private readonly heard = new WeakMap<object, { at: number }>()
  private readonly quietMs: number
  private readonly timeoutMs: number
  /** pings answered and connections aborted, for tests and stats */
  readonly stats = { pings: 0, aborted: 0 }

  constructor (private readonly components: LinkMonitorComponents, init: LinkMonitorInit = {}) {
    this.quietMs = init.quietMs ?? LINK_QUIET_MS
    this.timeoutMs = init.timeoutMs ?? LINK_PING_TIMEOUT_MS
  }

  start (): void {
    if (this.timer != null) return
    this.timer = setInterval(() => { this.tick() }, Math.min(LINK_CHECK_EVERY_MS, this.quietMs))
    this.timer.unref()
  }

  stop (): void {
    if (this.timer != null) clearInterval(this.timer)
    this.timer = null
  }

  private tick (): void {
    const now = Date.now()
    for (const conn of this.components.connectionManager.getConnections()) {
      if (conn.status !== 'open' || this.inFlight.has(conn.id)) continue
      const heard = this.listen(conn, now)
      if (now - heard.at < this.quietMs) continue
      this.inFlight.add(conn.id)
      this.check(conn).then(answered => {
        if (answered) heard.at = Date.now()
      }).finally(() => { this.inFlight.delete(conn.id) }).catch(() => {})
    }
  }

  /**
   * When `conn` last received anything. The first time a connection is seen its reads start
   * being noted (one field written per read), and it counts as heard from then.
   */
  private listen (conn: Connection, now: number): { at: number } {
    const maConn = (conn as unknown as { maConn?: Partial<Readable> }).maConn
    const key = maConn ?? conn
    const known = this.heard.get(key)
    if (known != null) return known
    const heard = { at: now }
    this.heard.set(key, heard)
    const onData = maConn?.onData
    if (maConn != null && typeof onData === 'function') {
      maConn.onData = (data: unknown) => {
        heard.at = Date.now()
        onData.call(maConn, data)
      }
    }
    return heard
  }

  /** Pings `conn`; true when it answered, false when it could not be pinged or was aborted. */
  private async check (conn: Connection): Promise<boolean> {
    const signal = AbortSignal.timeout(this.timeoutMs)
    const muxer = (conn as unknown as { muxer?: Partial<PingableMuxer> }).muxer
    try {
      if (typeof muxer?.ping === 'function') await raced(muxer.ping({ signal }), signal)
      else if (this.components.ping != null) await raced(this.components.ping.ping(conn.remotePeer, { signal }), signal)
      else return false
      this.stats.pings++
      return true
    } catch (err) {
      if (conn.status !== 'open') return false
      this.stats.aborted++
      log('no answer from %p to a ping within %d ms (%s): closing the connection', conn.remotePeer, this.timeoutMs, (err as Error).message)
      conn.abort(new Error(`no answer to a ping within ${this.timeoutMs} ms`))
      return false
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
