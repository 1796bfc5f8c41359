import { logger } from '@libp2p/logger'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { GroupDoc, GroupId } from '../crdt/index.js'
import { DEFAULT_SYNC_INTERVAL_MS, GAP_SYNC_MIN_INTERVAL_MS, IDLE_ROUNDS, SYNC_PROTOCOL, SYNC_TIMEOUT_MS } from './constants.js'
import { MalformedFrameError, PeerThrottledError } from './errors.js'
import type { FloodGuard } from './flood-guard.js'
import { OutstandingAsks } from './sync-asks.js'
import { runExchange, type ExchangeContext } from './sync-exchange.js'

const log = logger('outpost:sync')

/** What the sync service needs from the node. */
export interface SyncComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'getConnections' | 'addEventListener' | 'removeEventListener' | 'peerId'>
  /** the groups this node holds */
  groups: () => SyncGroup[]
  /** our display name, sent in HELLO */
  profileName: () => string
  /** a peer told us its display name */
  onPeerName?: (peerId: string, name: string) => void
  /** our key-exchange key, signed, sent in HELLO */
  profileBox?: () => { key: string, sig: string }
  /** a peer sent its key-exchange key (the signature is not checked yet) */
  onPeerBox?: (peerId: string, box: { key: string, sig: string }) => void
  /** a peer named a group we do not hold: a group to take part in from now (a direct message), or undefined */
  onUnknownGroup?: (peerId: string, groupId: GroupId) => Promise<SyncGroup | undefined>
  /** per-peer budgets: inbound exchanges over budget are refused, malformed frames count against the peer */
  guard?: Pick<FloodGuard, 'admitStream' | 'rejected'>
}

/** A group as sync sees it: its document and who may have it. */
export interface SyncGroup {
  groupId: GroupId
  doc: GroupDoc
  /** whether `peer` may receive this group's history (and send us changes to it) */
  isMember: (peer: string) => boolean
  /** our signed join request, while no member has let us in yet */
  joinRequest: () => Uint8Array | undefined
  /** checks a join request `peer` presented; true when `peer` is a member now */
  admit: (peer: string, join: Uint8Array) => boolean
  /** the signed entry that removed `peer`, if it was removed, to tell it why it is refused */
  removalOf?: (peer: string) => Uint8Array | undefined
  /** `peer` refused us this group and sent the entry that removed us */
  onRefused?: (peer: string, proof: Uint8Array) => void
  /** before its membership reaches us, whether to take `peer`'s updates (a direct message) */
  expects?: (peer: string) => boolean
}

export interface SyncInit {
  /** anti-entropy period in ms; 0 disables the timer (default 10 s) */
  intervalMs?: number
  /** a whole exchange is aborted after this long (default 30 s) */
  timeoutMs?: number
  /** for tests of a broken node: answer nothing and never initiate */
  disabled?: boolean
  /** send updates unsealed (only to measure what sealing costs) */
  insecure?: boolean
}

export interface SyncStats {
  exchanges: number
  failures: number
  /** bytes of Yjs updates sent and received in UPDATE frames */
  updateBytesSent: number
  updateBytesReceived: number
  framesRejected: number
  /** entries refused by the document guard (forged or not allowed) */
  entriesRejected: number
  /** groups a peer asked for without being a member */
  refused: number
  /** update chunks sent sealed with a group key, and plain (to a joiner being let in) */
  chunksSealed: number
  chunksPlain: number
}

/** lpStream's names for a length prefix over MAX_SYNC_FRAME_BYTES or malformed. */
const OVERSIZED_FRAME_ERRORS = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'InvalidMessageLengthError'])

/**
 * `/outpost/sync/3`: on every new connection and on an anti-entropy timer, both sides
 * exchange state vectors for every group and send each other exactly what the other lacks.
 * gossipsub only re-offers the last few seconds; this is what heals partitions. This class
 * decides when to exchange and with whom, and keeps count; one exchange on one stream is
 * sync-exchange.ts.
 *
 * A node does not ask every peer for the same gap at once. While one exchange's request for
 * a group awaits its answer, the others send their state vectors marked deferred; once a
 * peer's HELLO shows what it holds, a deferred request goes at once if that peer holds
 * something the awaited answer will not bring (or nothing we lack: its answer is empty),
 * and otherwise after that answer, as a WANT with what it left. After a heal that
 * reconnects a node to five peers holding the same gap, the gap comes once, not five times
 * (sync-asks.ts). Only asking waits, never answering, so two nodes never wait for each other.
 */
export class SyncService {
  readonly stats: SyncStats = { exchanges: 0, failures: 0, updateBytesSent: 0, updateBytesReceived: 0, framesRejected: 0, entriesRejected: 0, refused: 0, chunksSealed: 0, chunksPlain: 0 }
  private readonly intervalMs: number
  private readonly timeoutMs: number
  private timer: NodeJS.Timeout | null = null
  /** per peer: the exchange in flight, and whether another was asked for meanwhile */
  private readonly running = new Map<string, { again: boolean, done: Promise<void> }>()
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    if (this.starts(evt.detail)) this.syncWith(evt.detail).catch(() => {})
  }

  private started = false
  /** per peer: when a gap last triggered an exchange */
  private readonly lastSoon = new Map<string, number>()
  /** aborts exchanges in flight when the service stops */
  private shutdown = new AbortController()
  /** per peer, per group: when the last exchange that covered the group completed */
  private readonly synced = new Map<string, Map<GroupId, number>>()
  /** per peer: when the last exchange with it completed, and our groups' versions as it began */
  private readonly lastExchange = new Map<string, { at: number, versions: string }>()
  /** what exchanges use of this service */
  private readonly exchangeContext: ExchangeContext
  /** peers whose last exchanges failed: how often in a row, and until when to hold off */
  private readonly failing = new Map<string, { count: number, until: number }>()

  constructor (private readonly components: SyncComponents, private readonly init: SyncInit = {}) {
    this.intervalMs = init.intervalMs ?? DEFAULT_SYNC_INTERVAL_MS
    this.timeoutMs = init.timeoutMs ?? SYNC_TIMEOUT_MS
    this.exchangeContext = { components, insecure: init.insecure === true, stats: this.stats, outstanding: new OutstandingAsks() }
  }

  /**
   * A deliberately broken node, switched on by the mesh lab (a test flag): it neither starts
   * nor answers exchanges, so its checks must find what it then lacks.
   */
  halted = false

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.shutdown = new AbortController()
    if (this.init.disabled === true) return
    await this.components.libp2p.handle(SYNC_PROTOCOL, (stream, connection) => {
      if (this.halted) return stream.abort(new Error('sync halted (a lab test flag)'))
      if (this.components.guard?.admitStream(connection.remotePeer) === false) return stream.abort(new PeerThrottledError('over its sync stream budget'))
      this.respond(stream, connection.remotePeer).catch(() => {})
    }, { maxInboundStreams: 8 })
    this.components.libp2p.addEventListener('peer:connect', this.onConnect)
    this.scheduleAntiEntropy()
  }

  /**
   * The next anti-entropy round, 0.8 to 1.2 intervals from now. Nodes started together
   * would otherwise run their rounds in the same moment for as long as they run: in a lab
   * of 10 nodes, 45 exchanges at once, each a stream negotiation, a peer-store merge and a
   * state vector per group at both ends, in the middle of whatever gossip was arriving.
   */
  private scheduleAntiEntropy (): void {
    if (this.intervalMs <= 0 || !this.started) return
    this.timer = setTimeout(() => {
      this.antiEntropy()
      this.scheduleAntiEntropy()
    }, this.intervalMs * (0.8 + 0.4 * Math.random()))
    this.timer.unref()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    if (this.timer != null) clearTimeout(this.timer)
    this.timer = null
    if (this.init.disabled === true) return
    this.components.libp2p.removeEventListener('peer:connect', this.onConnect)
    await this.components.libp2p.unhandle(SYNC_PROTOCOL)
    this.shutdown.abort()
    await Promise.allSettled([...this.running.values()].map(r => r.done))
    this.failing.clear()
    this.lastSoon.clear()
  }

  /** Sync with every connected peer now. */
  syncAll (): void {
    this.syncConnected(() => true)
  }

  /**
   * An exchange covers both directions, so on a new connection and on the anti-entropy
   * timer one side of each pair is enough: the lower id starts it. (Both sides did on the
   * timer: twice the streams, each a protocol negotiation and a peer-store merge at both ends.)
   */
  private starts (peer: PeerId): boolean {
    return this.components.libp2p.peerId.toString() < peer.toString()
  }

  private antiEntropy (): void {
    const now = Date.now()
    const versions = this.versions()
    this.syncConnected(peer => this.due(peer, now, versions))
  }

  /**
   * Whether this round exchanges with `peer`. A pair's exchange can only bring news if one
   * side's documents changed since the last one: what one side lacks, another got (and so
   * changed) first. So while our groups are unchanged since we last exchanged with `peer`,
   * the lower id starts a round only every IDLE_ROUNDS intervals; once they changed, it
   * starts one every round, and the higher id starts one too if the lower id (unchanged
   * itself, say) has not for 1.5 intervals. An idle mesh makes a sixth of the exchanges it
   * did, a busy one as many.
   */
  private due (peer: PeerId, now: number, versions: string): boolean {
    const last = this.lastExchange.get(peer.toString())
    if (last == null) return this.starts(peer)
    const since = now - last.at
    if (last.versions !== versions) return this.starts(peer) || since >= 1.5 * this.intervalMs
    return this.starts(peer) && since >= IDLE_ROUNDS * this.intervalMs
  }

  /** Every group we hold and how often its document has changed, as one string. */
  private versions (): string {
    return this.components.groups().map(g => `${g.groupId}:${g.doc.version}`).join(',')
  }

  private syncConnected (which: (peer: PeerId) => boolean): void {
    const peers = new Map<string, PeerId>()
    for (const c of this.components.libp2p.getConnections()) {
      if (which(c.remotePeer)) peers.set(c.remotePeer.toString(), c.remotePeer)
    }
    for (const peer of peers.values()) this.syncWith(peer).catch(() => {})
  }

  /**
   * Like syncWith, for opportunistic triggers (a gap seen in gossip): skipped while the
   * last exchanges with this peer failed, so a broken or hostile peer cannot keep us busy.
   * Connection and anti-entropy syncs still retry it.
   */
  syncSoon (peer: PeerId): void {
    const key = peer.toString()
    const failing = this.failing.get(key)
    const now = Date.now()
    if (failing != null && now < failing.until) return
    // A gap that sync cannot fill (an update naming changes nobody has) would otherwise
    // trigger an exchange for every gossip message after it.
    if (now - (this.lastSoon.get(key) ?? 0) < GAP_SYNC_MIN_INTERVAL_MS) return
    this.lastSoon.set(key, now)
    this.syncWith(peer).catch(() => {})
  }

  /**
   * Starts an exchange with `peer` unless one is running, in which case another runs right
   * after it (so that nothing that changed meanwhile is missed). Resolves when done.
   */
  syncWith (peer: PeerId): Promise<void> {
    if (!this.started || this.init.disabled === true || this.halted) return Promise.resolve()
    const key = peer.toString()
    const current = this.running.get(key)
    if (current != null) {
      current.again = true
      return current.done
    }
    const entry = { again: false, done: Promise.resolve() }
    entry.done = (async () => {
      try {
        do {
          entry.again = false
          await this.initiate(peer)
        } while (entry.again && this.started)
      } finally {
        this.running.delete(key)
      }
    })()
    this.running.set(key, entry)
    return entry.done
  }

  /** Ends an exchange after the timeout, or at once when the service stops. */
  private exchangeSignal (): AbortSignal {
    return AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.shutdown.signal])
  }

  private async initiate (peer: PeerId): Promise<void> {
    const signal = this.exchangeSignal()
    let stream: Stream
    try {
      stream = await this.components.libp2p.dialProtocol(peer, SYNC_PROTOCOL, { signal })
    } catch (err) {
      this.failed(peer)
      log('cannot open sync stream to %p: %s', peer, (err as Error).message)
      return
    }
    await this.exchange(stream, peer, signal)
  }

  /** When this node last completed a sync of `groupId` with `peer` (ms), if ever since it started. */
  lastSynced (peer: string, groupId: GroupId): number | undefined {
    return this.synced.get(peer)?.get(groupId)
  }

  private recordSynced (peer: string, groupIds: GroupId[]): void {
    let groups = this.synced.get(peer)
    if (groups == null) {
      groups = new Map()
      this.synced.set(peer, groups)
    }
    const now = Date.now()
    for (const id of groupIds) groups.set(id, now)
  }

  private failed (peer: PeerId): void {
    this.stats.failures++
    const count = (this.failing.get(peer.toString())?.count ?? 0) + 1
    this.failing.set(peer.toString(), { count, until: Date.now() + Math.min(30_000, 500 * 2 ** count) })
  }

  private async respond (stream: Stream, peer: PeerId): Promise<void> {
    await this.exchange(stream, peer, this.exchangeSignal())
  }

  /** One exchange on `stream` (exchange.ts), and what it says about the peer: counted here. */
  private async exchange (stream: Stream, peer: PeerId, signal: AbortSignal): Promise<void> {
    const who = peer.toString()
    // Taken as it begins: what changes during the exchange (what it brings, too) makes
    // the next round exchange again.
    const versions = this.versions()
    try {
      const covered = await runExchange(this.exchangeContext, stream, peer, signal)
      this.stats.exchanges++
      this.lastExchange.set(who, { at: Date.now(), versions })
      this.recordSynced(who, covered)
      this.failing.delete(who)
    } catch (err) {
      this.failed(peer)
      if (err instanceof MalformedFrameError || OVERSIZED_FRAME_ERRORS.has((err as Error).name)) {
        this.stats.framesRejected++
        this.components.guard?.rejected(peer)
        log.error('dropped malformed sync frame from %p: %s', peer, (err as Error).message)
      } else {
        log('sync with %p failed: %s', peer, (err as Error).message)
      }
      stream.abort(err as Error)
    }
  }

}
