import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, Logger } from '@libp2p/interface'

export interface RedialerInit {
  /** first retry after this long (default 250 ms) */
  minBackoffMs?: number
  /** retries never wait longer than this, so a healed link reconnects within it (default 2 s) */
  maxBackoffMs?: number
  /** how often targets are checked (default 250 ms) */
  tickMs?: number
}

export interface RedialerComponents {
  libp2p: Pick<Libp2p, 'dial' | 'getConnections'>
  log: Logger
}

/** Dial errors raised while securing a connection that TCP had already made. */
const HANDSHAKE_ERRORS = new Set(['EncryptionFailedError', 'UnexpectedEOFError', 'InvalidCryptoExchangeError'])

/**
 * Why the last dial of a peer failed, in words a user can act on. A dial whose TCP
 * connection was made and that then failed (with an error, a reset or a stall) met a node
 * that does not share our network key: between Outpost nodes nothing else fails there.
 */
export function describeDialError (err: Error, reachedHandshake: boolean): string {
  if (reachedHandshake || HANDSHAKE_ERRORS.has(err.name)) return 'network key mismatch'
  return `unreachable (${err.message})`
}

interface Target {
  /** the peer, when known; static addresses without /p2p/ learn it on first connection */
  peerId?: string
  addrs: Multiaddr[]
  failures: number
  nextAttempt: number
  dialing: boolean
  /** why the last attempt failed; cleared on connection */
  problem?: string
  /** the attempt in progress got a TCP connection (see transportConnected) */
  reachedHandshake: boolean
}

/**
 * Keeps the node connected to every peer it knows: whenever a known peer or static address
 * is not connected, dial it, backing off exponentially up to `maxBackoffMs`. libp2p itself
 * never redials, so without this a healed partition stays split.
 */
export class Redialer {
  private readonly minBackoff: number
  private readonly maxBackoff: number
  private readonly tickMs: number
  private readonly targets = new Map<string, Target>()
  private timer: NodeJS.Timeout | null = null

  constructor (private readonly components: RedialerComponents, init: RedialerInit = {}) {
    this.minBackoff = init.minBackoffMs ?? 250
    this.maxBackoff = init.maxBackoffMs ?? 2_000
    this.tickMs = init.tickMs ?? 250
  }

  start (): void {
    if (this.timer != null) return
    this.timer = setInterval(() => { this.tick() }, this.tickMs)
    this.timer.unref()
    // Known and static peers are dialed at once, not a tick later.
    this.tick()
  }

  stop (): void {
    if (this.timer != null) clearInterval(this.timer)
    this.timer = null
  }

  /** Keep `peerId` connected, trying these addresses (merged with earlier ones). */
  watchPeer (peerId: string, addrs: Array<string | Multiaddr>): void {
    const target = this.targets.get(peerId) ?? { peerId, addrs: [], failures: 0, nextAttempt: 0, dialing: false, reachedHandshake: false }
    const known = new Set(target.addrs.map(a => a.toString()))
    for (const a of addrs) {
      const ma = withPeer(typeof a === 'string' ? multiaddr(a) : a, peerId)
      if (!known.has(ma.toString())) { target.addrs.push(ma); known.add(ma.toString()) }
    }
    this.targets.set(peerId, target)
  }

  /** Keep a static address connected (with or without a /p2p/ component). */
  watchAddress (address: string): void {
    const ma = multiaddr(address)
    const peerId = ma.getComponents().find(c => c.name === 'p2p')?.value
    if (peerId != null) { this.watchPeer(peerId, [ma]); return }
    if (!this.targets.has(address)) this.targets.set(address, { addrs: [ma], failures: 0, nextAttempt: 0, dialing: false, reachedHandshake: false })
  }

  /** Connected again (by whatever means): the next loss retries quickly. */
  connected (peerId: string): void {
    const target = this.targets.get(peerId)
    if (target != null) { target.failures = 0; target.nextAttempt = 0; target.problem = undefined }
  }

  /** The host reports that an outbound TCP connection to this peer was made. */
  transportConnected (peerId: string): void {
    const target = this.targets.get(peerId)
    if (target?.dialing === true) target.reachedHandshake = true
  }

  /** Why the last dial of this peer failed, if it did and it is still not connected. */
  problem (peerId: string): string | undefined {
    return this.targets.get(peerId)?.problem
  }

  /** Dial now rather than at the next scheduled attempt. */
  dialSoon (peerId: string): void {
    const target = this.targets.get(peerId)
    if (target != null) target.nextAttempt = 0
    this.tick()
  }

  private tick (): void {
    const now = Date.now()
    // Once per tick, as strings: parsing each target's PeerId four times a second for every
    // member was a tenth of an idle node's CPU among 20.
    const connected = new Set(this.components.libp2p.getConnections().map(c => c.remotePeer.toString()))
    for (const target of this.targets.values()) {
      if (target.dialing || now < target.nextAttempt || target.addrs.length === 0) continue
      if (target.peerId != null && connected.has(target.peerId)) { target.failures = 0; continue }
      target.dialing = true
      target.reachedHandshake = false
      this.components.libp2p.dial(target.addrs, { signal: AbortSignal.timeout(5_000) })
        .then(connection => {
          target.failures = 0
          target.problem = undefined
          target.peerId ??= connection.remotePeer.toString()
        })
        .catch(err => {
          target.failures++
          target.problem = describeDialError(err as Error, target.reachedHandshake)
          const backoff = Math.min(this.maxBackoff, this.minBackoff * 2 ** (target.failures - 1))
          // Jitter, so that nodes cut off together do not redial in lockstep.
          target.nextAttempt = Date.now() + backoff * (0.75 + Math.random() * 0.5)
          this.components.log.trace('redial of %s failed: %s', target.peerId ?? target.addrs[0], (err as Error).message)
        })
        .finally(() => { target.dialing = false })
    }
  }
}

function withPeer (ma: Multiaddr, peerId: string): Multiaddr {
  return ma.getComponents().some(c => c.name === 'p2p') ? ma : ma.encapsulate(`/p2p/${peerId}`)
}
