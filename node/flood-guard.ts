import { logger } from '@libp2p/logger'
import type { AbortOptions, ConnectionGater, Libp2pEvents, PeerId, Startable, TypedEventTarget } from '@libp2p/interface'
import { overriding } from './overriding.js'
import {
  FLOOD_DENY_MS, FLOOD_MAX_DENIED_PEERS, FLOOD_MAX_TRACKED_PEERS, FLOOD_STRIKE_WINDOW_MS, FLOOD_STRIKES,
  GOSSIP_BYTES_BURST, GOSSIP_BYTES_PER_SECOND, GOSSIP_MSGS_BURST, GOSSIP_MSGS_PER_SECOND,
  SYNC_STREAMS_BURST, SYNC_STREAMS_PER_SECOND
} from './constants.js'

const log = logger('outpost:flood-guard')

/** A bucket of `burst` tokens refilled at `perSecond`; a request takes tokens or is refused. */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor (private readonly perSecond: number, private readonly burst: number, now: number) {
    this.tokens = burst
    this.last = now
  }

  take (n: number, now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) / 1000 * this.perSecond)
    this.last = now
    if (this.tokens < n) return false
    this.tokens -= n
    return true
  }
}

/**
 * Peers refused for a while, consulted by the connection gater. Bounded: when full, the
 * entry that expires first makes room.
 */
export class DenyList {
  private readonly until = new Map<string, number>()

  constructor (private readonly max = FLOOD_MAX_DENIED_PEERS, private readonly now: () => number = () => performance.now()) {}

  deny (peer: PeerId | string, forMs: number): void {
    const now = this.now()
    for (const [id, until] of this.until) if (until <= now) this.until.delete(id)
    if (this.until.size >= this.max) {
      let first: string | undefined
      for (const [id, until] of this.until) if (first == null || until < (this.until.get(first) ?? Infinity)) first = id
      if (first != null) this.until.delete(first)
    }
    this.until.set(peer.toString(), now + forMs)
  }

  has (peer: PeerId | string): boolean {
    const id = peer.toString()
    const until = this.until.get(id)
    if (until == null) return false
    if (until > this.now()) return true
    this.until.delete(id)
    return false
  }

  get size (): number { return this.until.size }
}

/**
 * Wraps a connection gater so that peers on the deny list can neither be dialed nor
 * connect to us (the peer id is known once the inbound connection is encrypted).
 */
export function refuseDenied (gater: ConnectionGater, denied: DenyList): ConnectionGater {
  const gate = (method: 'denyDialPeer' | 'denyInboundEncryptedConnection') => async (peer: PeerId, ...rest: unknown[]): Promise<boolean> => {
    if (denied.has(peer)) return true
    const own = gater[method] as ((peer: PeerId, ...rest: unknown[]) => boolean | Promise<boolean>) | undefined
    return own != null ? await own.call(gater, peer, ...rest) : false
  }
  return overriding(gater, { denyDialPeer: gate('denyDialPeer'), denyInboundEncryptedConnection: gate('denyInboundEncryptedConnection') })
}

/** gossipsub as the guard sees it: its peers, their scores, and its heartbeat. */
export interface ScoredPubsub {
  getPeers: () => PeerId[]
  /** on gossipsub's class, not its interface; absent if a future version drops it */
  getScore?: (peerId: string) => number
  addEventListener: (type: 'gossipsub:heartbeat', listener: () => void) => void
  removeEventListener: (type: 'gossipsub:heartbeat', listener: () => void) => void
}

export interface FloodGuardComponents {
  connectionManager: { closeConnections: (peer: PeerId, options?: AbortOptions) => Promise<void> }
  events: TypedEventTarget<Libp2pEvents>
  /** gossipsub, when it is configured as a service before this one */
  pubsub?: ScoredPubsub
}

export interface FloodGuardInit {
  /** the deny list the host's connection gater consults (default: one of its own) */
  denyList?: DenyList
  /** gossip messages per second and at once (default GOSSIP_MSGS_PER_SECOND, GOSSIP_MSGS_BURST) */
  gossipPerSecond?: number
  gossipBurst?: number
  /** gossip bytes per second and at once (default GOSSIP_BYTES_PER_SECOND, GOSSIP_BYTES_BURST) */
  gossipBytesPerSecond?: number
  gossipBytesBurst?: number
  /** inbound sync streams per second and at once (default SYNC_STREAMS_PER_SECOND, SYNC_STREAMS_BURST) */
  streamsPerSecond?: number
  streamsBurst?: number
  /** strikes (throttled or rejected inputs) within the window that disconnect a peer (default FLOOD_STRIKES, FLOOD_STRIKE_WINDOW_MS) */
  strikes?: number
  strikeWindowMs?: number
  /** how long a disconnected peer is refused (default FLOOD_DENY_MS) */
  denyMs?: number
  /** peers tracked at most (default FLOOD_MAX_TRACKED_PEERS) */
  maxPeers?: number
  /** a peer whose gossipsub score falls below this is disconnected too (default: not checked) */
  graylistThreshold?: number
  /** a monotonic clock in ms, for tests (default performance.now) */
  now?: () => number
}

export interface FloodGuardStats {
  /** inputs dropped for being over budget */
  throttled: number
  /** invalid inputs reported by the gossip and sync services */
  rejected: number
  /** peers disconnected for flooding or for a graylisted score */
  disconnected: number
}

interface PeerState {
  gossip: TokenBucket
  gossipBytes: TokenBucket
  streams: TokenBucket
  strikes: number
  windowStart: number
}

type Limits = Required<Omit<FloodGuardInit, 'denyList' | 'graylistThreshold' | 'now'>>

/**
 * Per-peer budgets for gossip messages, gossip bytes and inbound sync streams. Input over
 * budget is dropped (throttled); a peer that keeps going over budget or sending invalid
 * input, or whose gossipsub score falls below the graylist threshold, is disconnected and
 * refused for a while. Memory is bounded: state is dropped when a peer disconnects, and
 * at most `maxPeers` peers are tracked.
 */
export class FloodGuard implements Startable {
  readonly stats: FloodGuardStats = { throttled: 0, rejected: 0, disconnected: 0 }
  readonly denyList: DenyList
  private readonly limits: Limits
  private readonly now: () => number
  private readonly peers = new Map<string, PeerState>()
  private started = false
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => { this.peers.delete(evt.detail.toString()) }
  private readonly onHeartbeat = (): void => { this.checkScores() }

  constructor (private readonly components: FloodGuardComponents, private readonly init: FloodGuardInit = {}) {
    this.now = init.now ?? (() => performance.now())
    this.denyList = init.denyList ?? new DenyList(FLOOD_MAX_DENIED_PEERS, this.now)
    this.limits = {
      gossipPerSecond: init.gossipPerSecond ?? GOSSIP_MSGS_PER_SECOND,
      gossipBurst: init.gossipBurst ?? GOSSIP_MSGS_BURST,
      gossipBytesPerSecond: init.gossipBytesPerSecond ?? GOSSIP_BYTES_PER_SECOND,
      gossipBytesBurst: init.gossipBytesBurst ?? GOSSIP_BYTES_BURST,
      streamsPerSecond: init.streamsPerSecond ?? SYNC_STREAMS_PER_SECOND,
      streamsBurst: init.streamsBurst ?? SYNC_STREAMS_BURST,
      strikes: init.strikes ?? FLOOD_STRIKES,
      strikeWindowMs: init.strikeWindowMs ?? FLOOD_STRIKE_WINDOW_MS,
      denyMs: init.denyMs ?? FLOOD_DENY_MS,
      maxPeers: init.maxPeers ?? FLOOD_MAX_TRACKED_PEERS
    }
  }

  readonly [Symbol.toStringTag] = 'outpost:flood-guard'

  start (): void {
    if (this.started) return
    this.started = true
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    if (this.init.graylistThreshold != null) this.components.pubsub?.addEventListener('gossipsub:heartbeat', this.onHeartbeat)
  }

  stop (): void {
    if (!this.started) return
    this.started = false
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    this.components.pubsub?.removeEventListener('gossipsub:heartbeat', this.onHeartbeat)
    this.peers.clear()
  }

  /** Peers with state held now (bounded by maxPeers). */
  get trackedPeers (): number { return this.peers.size }

  /** A gossip message of `bytes` arrived from `peer`: false if it must be dropped. */
  admitGossip (peer: PeerId, bytes: number): boolean {
    if (this.denyList.has(peer)) return false
    const state = this.state(peer)
    const now = this.now()
    if (state.gossip.take(1, now) && state.gossipBytes.take(bytes, now)) return true
    this.stats.throttled++
    this.strike(peer, state, 'over its gossip budget')
    return false
  }

  /** `peer` opens an inbound sync stream: false if it must be refused. */
  admitStream (peer: PeerId): boolean {
    if (this.denyList.has(peer)) return false
    const state = this.state(peer)
    if (state.streams.take(1, this.now())) return true
    this.stats.throttled++
    this.strike(peer, state, 'over its sync stream budget')
    return false
  }

  /** `peer` sent input that failed validation. */
  rejected (peer: PeerId): void {
    this.stats.rejected++
    if (this.denyList.has(peer)) return
    this.strike(peer, this.state(peer), 'sending invalid input')
  }

  private state (peer: PeerId): PeerState {
    const id = peer.toString()
    let state = this.peers.get(id)
    if (state != null) return state
    if (this.peers.size >= this.limits.maxPeers) {
      // Maps iterate in insertion order: the first key is the peer tracked longest.
      const oldest = this.peers.keys().next().value
      if (oldest != null) this.peers.delete(oldest)
    }
    const now = this.now()
    const l = this.limits
    state = {
      gossip: new TokenBucket(l.gossipPerSecond, l.gossipBurst, now),
      gossipBytes: new TokenBucket(l.gossipBytesPerSecond, l.gossipBytesBurst, now),
      streams: new TokenBucket(l.streamsPerSecond, l.streamsBurst, now),
      strikes: 0,
      windowStart: now
    }
    this.peers.set(id, state)
    return state
  }

  private strike (peer: PeerId, state: PeerState, why: string): void {
    const now = this.now()
    if (now - state.windowStart > this.limits.strikeWindowMs) {
      state.windowStart = now
      state.strikes = 0
    }
    state.strikes++
    if (state.strikes === 1) log('peer %p is %s', peer, why)
    if (state.strikes >= this.limits.strikes) this.disconnect(peer, `${state.strikes} strikes, last for ${why}`)
  }

  private checkScores (): void {
    const pubsub = this.components.pubsub
    const threshold = this.init.graylistThreshold
    if (pubsub?.getScore == null || threshold == null) return
    for (const peer of pubsub.getPeers()) {
      const score = pubsub.getScore(peer.toString())
      if (score < threshold && !this.denyList.has(peer)) this.disconnect(peer, `gossipsub score ${score.toFixed(1)} below ${threshold}`)
    }
  }

  private disconnect (peer: PeerId, why: string): void {
    if (this.denyList.has(peer)) return
    this.denyList.deny(peer, this.limits.denyMs)
    this.peers.delete(peer.toString())
    this.stats.disconnected++
    log.error('disconnecting %p for %d s: %s', peer, Math.round(this.limits.denyMs / 1000), why)
    this.components.connectionManager.closeConnections(peer).catch(err => {
      log('closing connections to %p failed: %s', peer, (err as Error).message)
    })
  }
}

/** The flood guard as a libp2p service; list it after gossipsub so it can watch scores. */
export function floodGuard (init: FloodGuardInit = {}): (components: FloodGuardComponents) => FloodGuard {
  return (components) => new FloodGuard(components, init)
}
