/**
 * Finding and keeping peers: mDNS discoveries are dialed at once, static peers and every
 * peer in the persisted peer book are redialed with backoff whenever disconnected.
 * Knows libp2p, nothing of conversations.
 */
import { logger } from '@libp2p/logger'
import type { Connection, IdentifyResult, Libp2p, PeerId, PeerInfo } from '@libp2p/interface'
import { PeerBook, type PeerBookStore, type PeerRecord } from './peer-book.js'
import { Redialer, type RedialerInit } from './redialer.js'

export { PeerBook, type PeerRecord, type PeerBookStore } from './peer-book.js'
export { Redialer, describeDialError, type RedialerInit } from './redialer.js'
export { readPeersFile, parsePeerAddress, InvalidPeerAddressError } from './static-peers.js'

export interface DiscoveryComponents {
  libp2p: Pick<Libp2p, 'dial' | 'getConnections' | 'addEventListener' | 'removeEventListener' | 'peerId' | 'peerStore'>
}

export interface DiscoveryInit extends RedialerInit {
  store: PeerBookStore
  /** addresses to keep connected, from --peer and the peers file */
  staticPeers?: string[]
  /** peers not seen for this long are no longer redialed (default 7 days) */
  forgetAfterMs?: number
}

export interface PeerStatus extends PeerRecord {
  connected: boolean
  /** why we cannot connect, when a dial failed: 'network key mismatch' or 'unreachable (…)' */
  problem?: string
}

const log = logger('outpost:discovery')

export class Discovery {
  private book: PeerBook | null = null
  private readonly redialer: Redialer
  private readonly forgetAfterMs: number
  private readonly listeners: Array<[string, (evt: CustomEvent<any>) => void]> = []

  constructor (private readonly components: DiscoveryComponents, private readonly init: DiscoveryInit) {
    this.redialer = new Redialer({ libp2p: components.libp2p, log }, init)
    this.forgetAfterMs = init.forgetAfterMs ?? 7 * 24 * 60 * 60 * 1000
  }

  async start (): Promise<void> {
    if (this.book != null || this.listeners.length > 0) return
    this.on('peer:discovery', (evt: CustomEvent<PeerInfo>) => { this.discovered(evt.detail) })
    this.on('peer:identify', (evt: CustomEvent<IdentifyResult>) => { this.identified(evt.detail) })
    this.on('connection:open', (evt: CustomEvent<Connection>) => { this.opened(evt.detail) })
    this.on('peer:disconnect', (evt: CustomEvent<PeerId>) => { this.remember(evt.detail.toString(), { lastSeen: Date.now() }) })
    this.book = await PeerBook.load(this.init.store)
    const self = this.components.libp2p.peerId
    for (const record of this.book.all()) {
      if (record.peerId === self.toString()) continue
      if (record.lastSeen != null && Date.now() - record.lastSeen > this.forgetAfterMs) continue
      this.redialer.watchPeer(record.peerId, record.addrs)
    }
    for (const address of this.init.staticPeers ?? []) this.redialer.watchAddress(address)
    // libp2p fires peer:discovery only the first time a peer enters its peer store. mDNS
    // starts with the host, before this service, so answers that arrived in between
    // would never be dialed: take them from the peer store.
    for (const peer of await this.components.libp2p.peerStore.all()) {
      if (peer.id.equals(self) || peer.addresses.length === 0) continue
      this.discovered({ id: peer.id, multiaddrs: peer.addresses.map(a => a.multiaddr) })
    }
    this.redialer.start()
  }

  async stop (): Promise<void> {
    this.redialer.stop()
    for (const [name, fn] of this.listeners) this.components.libp2p.removeEventListener(name as 'peer:discovery', fn)
    this.listeners.length = 0
    this.book = null
  }

  /** Every peer in the book, with whether it is connected now. */
  peers (): PeerStatus[] {
    const self = this.components.libp2p.peerId.toString()
    return (this.book?.all() ?? [])
      .filter(r => r.peerId !== self)
      .map(r => {
        const connected = this.isConnected(r.peerId)
        const problem = connected ? undefined : this.redialer.problem(r.peerId)
        return { ...r, connected, ...(problem != null ? { problem } : {}) }
      })
      .sort((a, b) => Number(b.connected) - Number(a.connected) || (b.lastSeen ?? 0) - (a.lastSeen ?? 0))
  }

  name (peerId: string): string | undefined {
    return this.book?.get(peerId)?.name
  }

  /** An outbound TCP connection to this peer was made (from the host's connection gater). */
  transportConnected (peerId: string): void {
    this.redialer.transportConnected(peerId)
  }

  /** Record a peer's display name (learned from its profile during sync). */
  setName (peerId: string, name: string): void {
    this.remember(peerId, { name })
  }

  /** Dial a peer at these addresses now and keep it connected (e.g. an inviter). */
  addPeer (peerId: string, addrs: string[]): void {
    if (peerId === this.components.libp2p.peerId.toString()) return
    this.redialer.watchPeer(peerId, addrs)
    this.remember(peerId, { addrs })
    this.redialer.dialSoon(peerId)
  }

  private isConnected (peerId: string): boolean {
    return this.components.libp2p.getConnections().some(c => c.remotePeer.toString() === peerId)
  }

  private on<T>(name: string, fn: (evt: CustomEvent<T>) => void): void {
    this.components.libp2p.addEventListener(name as 'peer:discovery', fn as (evt: CustomEvent<any>) => void)
    this.listeners.push([name, fn as (evt: CustomEvent<any>) => void])
  }

  private discovered (info: PeerInfo): void {
    const peerId = info.id.toString()
    const addrs = info.multiaddrs.map(a => a.toString())
    this.redialer.watchPeer(peerId, addrs)
    this.remember(peerId, { addrs })
    // Both sides of an mDNS pair usually see each other at once; letting the larger id dial
    // first avoids most duplicate connections (the redial tick covers the other side).
    if (this.components.libp2p.peerId.toString() > peerId) this.redialer.dialSoon(peerId)
  }

  private identified (result: IdentifyResult): void {
    const peerId = result.peerId.toString()
    const addrs = result.listenAddrs.map(a => a.toString())
    // A peer that dialed us is redialed too, at the addresses it listens on.
    this.redialer.watchPeer(peerId, addrs)
    this.remember(peerId, { addrs })
  }

  private opened (connection: Connection): void {
    const peerId = connection.remotePeer.toString()
    this.redialer.connected(peerId)
    this.remember(peerId, { lastSeen: Date.now() })
  }

  private remember (peerId: string, patch: { name?: string, addrs?: string[], lastSeen?: number }): void {
    if (this.book == null || peerId === this.components.libp2p.peerId.toString()) return
    if (patch.addrs != null) {
      // Unspecified addresses (0.0.0.0, ::) cannot be dialed.
      patch.addrs = patch.addrs.filter(a => !a.includes('/0.0.0.0/') && !a.startsWith('/ip6/::/'))
    }
    this.book.update(peerId, patch).catch(err => { log.error('peer book write failed: %s', (err as Error).message) })
  }
}
