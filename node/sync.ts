import { logger } from '@libp2p/logger'
import { lpStream } from '@libp2p/utils'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { GroupDoc, GroupId } from '../crdt/index.js'
import { DEFAULT_SYNC_INTERVAL_MS, GAP_SYNC_MIN_INTERVAL_MS, IDLE_ROUNDS, MAX_SYNC_FRAME_BYTES, MAX_SYNC_UPDATE_BYTES, SYNC_ASK_WAIT_MS, SYNC_CHUNK_BYTES, SYNC_PROTOCOL, SYNC_TIMEOUT_MS } from './constants.js'
import { MalformedFrameError, PeerThrottledError } from './errors.js'
import type { FloodGuard } from './flood-guard.js'
import { ExpectedWants, holdingsOf, holdsMore, OutstandingAsks, type Ask } from './sync-asks.js'
import { open, seal } from './trust/keys.js'
import { decodeSyncFrame, encodeSyncFrame, syncChunkAad, type SyncFrame, type WantFrame } from './wire/sync-codec.js'

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

/** Writes one frame, or a series of frames with nothing else between them. */
type Send = (frames: SyncFrame | Iterable<SyncFrame>) => Promise<void>

/** An empty Yjs update (no structs, no deletions) is these two bytes. */
const EMPTY_UPDATE_LENGTH = 2

/**
 * `/outpost/sync/3`: on every new connection and on an anti-entropy timer, both sides
 * exchange state vectors for every group and send each other exactly what the other lacks.
 * gossipsub only re-offers the last few seconds; this is what heals partitions.
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
  /** requests for groups' news that await their answers, across exchanges */
  private readonly outstanding = new OutstandingAsks()
  /** peers whose last exchanges failed: how often in a row, and until when to hold off */
  private readonly failing = new Map<string, { count: number, until: number }>()

  constructor (private readonly components: SyncComponents, private readonly init: SyncInit = {}) {
    this.intervalMs = init.intervalMs ?? DEFAULT_SYNC_INTERVAL_MS
    this.timeoutMs = init.timeoutMs ?? SYNC_TIMEOUT_MS
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

  /**
   * Both roles run the same exchange: HELLO both ways, then each side answers the other's
   * requests with UPDATEs (deferred requests come as WANTs), then DONE both ways.
   */
  private async exchange (stream: Stream, peer: PeerId, signal: AbortSignal): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_SYNC_FRAME_BYTES })
    const receive = async (): Promise<SyncFrame> => decodeSyncFrame((await lp.read({ signal })).subarray())
    // Frames go out from both loops (a WANT is answered as it is read): one series at a time,
    // so that the chunks of one update are never split by another frame.
    let writes: Promise<void> = Promise.resolve()
    const send: Send = async frames => {
      // A series is read as it is written: an update's chunks are sealed one at a time.
      const series = 'type' in frames ? [frames] : frames
      const sent = writes.then(async () => { for (const frame of series) await lp.write(encodeSyncFrame(frame), { signal }) })
      writes = sent.catch(() => {})
      await sent
    }
    /** our requests in this exchange whose answers have not come */
    const asks = new Map<GroupId, Ask>()
    const answered = (groupId: GroupId): void => { asks.get(groupId)?.answered(); asks.delete(groupId) }
    let ended = false
    try {
      const who = peer.toString()
      // Taken as it begins: what changes during the exchange (what it brings, too) makes
      // the next round exchange again.
      const versions = this.versions()
      const ours = new Map(this.components.groups().map(g => [g.groupId, g]))
      // A group is named only to its members, and by a joiner to whoever it meets. Where
      // another exchange's request for it awaits its answer, ours waits for that answer and
      // goes out later as a WANT, with what it brought: after a heal every peer on the other
      // side would otherwise answer the same gap.
      const announced = [...ours.values()].flatMap(g => {
        const join = g.joinRequest()
        if (!g.isMember(who) && join == null && g.expects?.(who) !== true) return []
        const deferred = this.outstanding.worthWaitingFor(g.groupId)
        if (!deferred) asks.set(g.groupId, this.outstanding.ask(g.groupId))
        return [{ groupId: g.groupId, stateVector: g.doc.stateVector(), key: this.keyIdOf(g), ...(join != null ? { join } : {}), ...(deferred ? { deferred } : {}) }]
      })
      const box = this.components.profileBox?.()
      await send({ type: 'hello', name: this.components.profileName(), groups: announced, ...(box != null ? { box } : {}) })
      const hello = await receive()
      if (hello.type !== 'hello') throw new MalformedFrameError(`expected hello, got ${hello.type}`)
      /** what the peer holds of each group it names */
      const theirs = new Map(hello.groups.map(g => [g.groupId, holdingsOf(g.stateVector)]))
      const sent = new Map(announced.map(g => [g.groupId, g.stateVector]))
      for (const [groupId, ask] of asks) {
        const holds = theirs.get(groupId)
        if (holds == null) continue
        ask.heard(holds)
        // The peer holds nothing we lack: its answer is empty, nothing to wait for.
        if (!holdsMore(holds, holdingsOf(sent.get(groupId) as Uint8Array))) answered(groupId)
      }
      if (hello.name.length > 0) this.components.onPeerName?.(who, hello.name)
      if (hello.box != null) this.components.onPeerBox?.(who, hello.box)
      for (const theirs of hello.groups) {
        if (ours.has(theirs.groupId)) continue
        const taken = await this.components.onUnknownGroup?.(who, theirs.groupId)
        if (taken != null) ours.set(taken.groupId, taken)
      }
      const refusals: SyncFrame[] = []
      for (const theirs of hello.groups) {
        const group = ours.get(theirs.groupId)
        if (group == null || group.isMember(who)) continue
        if (theirs.join != null && group.admit(who, theirs.join)) continue
        this.stats.refused++
        log('refused group %s to %p: not a member', theirs.groupId, peer)
        const proof = group.removalOf?.(who)
        if (proof != null) refusals.push({ type: 'refused', groupId: group.groupId, proof })
      }
      // A group the peer does not name, it does not hold for us: no answer will come.
      const named = new Set(hello.groups.map(g => g.groupId))
      for (const groupId of [...asks.keys()]) if (!named.has(groupId)) answered(groupId)
      const theirWants = new ExpectedWants(hello.groups.filter(g => g.deferred === true).map(g => g.groupId))
      // Read while writing: if both sides wrote large diffs before reading, flow control
      // would stall both.
      const reading = this.receiveUpdates(receive, ours, peer, {
        answered,
        want: want => {
          if (!theirWants.take(want.groupId)) throw new MalformedFrameError(`a want for ${want.groupId}, not deferred in hello or asked twice`)
          theirWants.answering(this.answer(send, ours, want, who))
        }
      })
      reading.catch(err => { theirWants.fail(err as Error) })
      const writing = (async () => {
        for (const theirs of hello.groups) {
          if (theirs.deferred !== true) await this.answer(send, ours, theirs, who)
        }
        const deadline = Date.now() + SYNC_ASK_WAIT_MS
        await Promise.all(announced.filter(g => g.deferred === true).map(async ({ groupId }) => {
          const group = ours.get(groupId) as SyncGroup
          const peerHolds = theirs.get(groupId) ?? new Map()
          const ask = await this.outstanding.askAfterOthers(groupId, peerHolds, () => holdingsOf(group.doc.stateVector()), deadline, signal)
          // The exchange failed while we waited: this request will not go, nor be answered.
          if (ended) return ask.answered()
          ask.heard(peerHolds)
          asks.set(groupId, ask)
          await send({ type: 'want', groupId, stateVector: group.doc.stateVector(), key: this.keyIdOf(group) })
        }))
        await theirWants.allAnswered()
        await send([...refusals, { type: 'done' }])
      })()
      // Both directions are awaited together: when the peer hangs up, both fail, and a
      // failure of the one not awaited would be an unhandled rejection (it ended the process).
      await Promise.all([reading, writing])
      await stream.close({ signal })
      this.stats.exchanges++
      this.lastExchange.set(who, { at: Date.now(), versions })
      this.recordSynced(who, hello.groups.map(g => g.groupId).filter(id => ours.get(id)?.isMember(who) === true))
      this.failing.delete(peer.toString())
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
    } finally {
      // Answered or not, later requests for these groups need not wait for them any more.
      ended = true
      for (const groupId of [...asks.keys()]) answered(groupId)
    }
  }

  /** The newest group key we hold, named in requests so that answers are sealed with it. */
  private keyIdOf (group: SyncGroup): string {
    return this.init.insecure === true ? '' : group.doc.currentKey()?.keyId ?? ''
  }

  /** Sends what a request lacks of one group: the update in chunks, or one empty final chunk. */
  private async answer (send: Send, ours: Map<GroupId, SyncGroup>, request: { groupId: GroupId, stateVector: Uint8Array, key: string }, who: string): Promise<void> {
    const { groupId, stateVector, key: theirKey } = request
    const group = ours.get(groupId)
    // History goes to members only (a joiner becomes one when admitted above).
    if (group == null || !group.isMember(who)) return
    const doc = group.doc
    let update: Uint8Array
    try {
      update = doc.diff(stateVector)
    } catch (err) {
      throw new MalformedFrameError((err as Error).message)
    }
    // Lacking nothing is an answer too: it tells the asker's other exchanges to go on.
    if (update.length <= EMPTY_UPDATE_LENGTH) return await send({ type: 'update', groupId, key: '', final: true, update: new Uint8Array(0) })
    this.stats.updateBytesSent += update.length
    // Sealed with the newest key the receiver holds, when we hold it too. Otherwise (a
    // joiner being let in now, or a peer a rotation behind us) plain, inside Noise: the
    // bodies in it are sealed either way.
    const key = theirKey !== '' && this.init.insecure !== true ? doc.keyFor(theirKey) : undefined
    const stats = this.stats
    await send((function * () {
      for (let at = 0, seq = 0; at < update.length; at += SYNC_CHUNK_BYTES, seq++) {
        const end = Math.min(update.length, at + SYNC_CHUNK_BYTES)
        const final = end === update.length
        const chunk = update.subarray(at, end)
        if (key != null) stats.chunksSealed++
        else stats.chunksPlain++
        yield {
          type: 'update' as const,
          groupId,
          key: key != null ? theirKey : '',
          final,
          update: key != null ? seal(key, chunk, syncChunkAad(groupId, theirKey, seq, final)) : chunk
        }
      }
    })())
  }

  /**
   * Reads the peer's frames until its DONE: answers to our requests (applied, then reported
   * to `on.answered`), refusals, and its deferred requests (handed to `on.want`).
   */
  private async receiveUpdates (receive: () => Promise<SyncFrame>, ours: Map<GroupId, SyncGroup>, peer: PeerId, on: { answered: (groupId: GroupId) => void, want: (frame: WantFrame) => void }): Promise<void> {
    let chunks: { groupId: GroupId, parts: Uint8Array[], bytes: number } | null = null
    while (true) {
      const frame = await receive()
      if (frame.type === 'done') {
        if (chunks != null) throw new MalformedFrameError('done in the middle of an update')
        return
      }
      if (frame.type === 'refused' && chunks == null) {
        ours.get(frame.groupId)?.onRefused?.(peer.toString(), frame.proof)
        on.answered(frame.groupId)
        continue
      }
      if (frame.type === 'want' && chunks == null) {
        on.want(frame)
        continue
      }
      if (frame.type !== 'update') throw new MalformedFrameError(`unexpected ${frame.type} frame`)
      if (chunks != null && chunks.groupId !== frame.groupId) throw new MalformedFrameError('chunks of two updates interleaved')
      chunks ??= { groupId: frame.groupId, parts: [], bytes: 0 }
      let part = frame.update
      if (frame.key !== '') {
        const key = ours.get(frame.groupId)?.doc.keyFor(frame.key)
        const opened = key == null ? null : open(key, part, syncChunkAad(frame.groupId, frame.key, chunks.parts.length, frame.final))
        if (opened == null) throw new MalformedFrameError(`an update chunk for ${frame.groupId} that does not open with key ${frame.key}`)
        part = opened
      }
      chunks.parts.push(part)
      chunks.bytes += part.length
      if (chunks.bytes > MAX_SYNC_UPDATE_BYTES) throw new MalformedFrameError(`update for ${frame.groupId} over ${MAX_SYNC_UPDATE_BYTES} bytes`)
      if (!frame.final) continue
      const update = chunks.parts.length === 1 ? chunks.parts[0] : Buffer.concat(chunks.parts)
      chunks = null
      if (update.length === 0) {
        on.answered(frame.groupId)
        continue
      }
      const group = ours.get(frame.groupId)
      // From members, and while we wait to be let in, from whoever answers our join request
      // (the guard checks every entry either way).
      if (group == null || (!group.isMember(peer.toString()) && group.joinRequest() == null && group.expects?.(peer.toString()) !== true)) {
        log.error('ignored update from %p for group %s: not a member, or a group we do not hold', peer, frame.groupId)
        on.answered(frame.groupId)
        continue
      }
      this.stats.updateBytesReceived += update.length
      try {
        // A sync may carry a whole history: its signatures are checked all at once.
        const { rejected } = await group.doc.applyUpdateBatched(update, 'remote')
        this.stats.entriesRejected += rejected.length
        for (const r of rejected) log.error('rejected an entry of group %s synced from %p: %s', frame.groupId, peer, r.why)
      } catch (err) {
        this.stats.framesRejected++
        log.error('dropped sync update from %p for group %s: %s', peer, frame.groupId, (err as Error).message)
      }
      on.answered(frame.groupId)
    }
  }
}
