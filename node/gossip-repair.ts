import { logger } from '@libp2p/logger'
import type { Connection, Libp2p } from '@libp2p/interface'

const log = logger('outpost:gossip-repair')

/** The private parts of gossipsub this works around; checked before use. */
interface GossipsubInternals {
  streamsOutbound?: Map<string, { rawStream?: { status?: string } }>
  outboundInflightQueue?: { push: (item: { peerId: unknown, connection: Connection }) => void }
}

/**
 * Two nodes that discover each other by mDNS often dial each other at once and end up with
 * two connections. gossipsub keeps one outbound stream per peer; when the connection that
 * carried it closes while the other stays up, gossipsub never opens a new one, and all
 * gossip to that peer is silently dropped (upstream js-libp2p PR 3531). This reopens the
 * outbound stream on a remaining connection, or, if gossipsub's internals have changed
 * shape, hangs up on the peer so that redial builds everything afresh.
 */
export class GossipStreamRepair {
  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    // Let gossipsub process the stream close events first.
    setTimeout(() => { this.check(evt.detail) }, 0)
  }

  constructor (private readonly libp2p: Pick<Libp2p, 'getConnections' | 'hangUp' | 'addEventListener' | 'removeEventListener'>, private readonly pubsub: unknown) {}

  start (): void {
    this.libp2p.addEventListener('connection:close', this.onClose)
  }

  stop (): void {
    this.libp2p.removeEventListener('connection:close', this.onClose)
  }

  private check (closed: Connection): void {
    const peer = closed.remotePeer
    const remaining = this.libp2p.getConnections(peer).filter(c => c.status === 'open')
    if (remaining.length === 0) return
    const internals = this.pubsub as GossipsubInternals
    const id = peer.toString()
    if (internals.streamsOutbound instanceof Map && typeof internals.outboundInflightQueue?.push === 'function') {
      const current = internals.streamsOutbound.get(id)
      if (current != null && current.rawStream?.status === 'open') return
      internals.streamsOutbound.delete(id)
      log('reopening gossip stream to %p on its remaining connection', peer)
      internals.outboundInflightQueue.push({ peerId: peer, connection: remaining[0] })
      return
    }
    log('gossipsub internals unknown: hanging up on %p to rebuild its streams', peer)
    this.libp2p.hangUp(peer).catch(() => {})
  }
}
