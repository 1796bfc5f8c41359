import { EventEmitter } from 'node:events'
import { logger } from '@libp2p/logger'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import type { ConnectionGater } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'
import { HybridClock, MemoryKv, NotAllowedError, dmGroupId, isMessageId, type ChatMessage, type DocCrypto, type GroupId, type KvStore, type MessageId } from '../crdt/index.js'
import { Discovery, readPeersFile, type PeerStatus, type RedialerInit } from '../discovery/index.js'
import { DataDir } from './data-dir.js'
import { InvalidRequestError, NodeStoppedError, NotInitializedError, UnknownPeerError } from './errors.js'
import { safetyNumber } from './safety-number.js'
import { GossipService } from './gossip.js'
import { GossipStreamRepair } from './gossip-repair.js'
import { GroupRegistry, type Group } from './groups.js'
import type { FloodGuardInit } from './flood-guard.js'
import { createHost, type Host } from './host.js'
import { initIdentity, loadIdentity, type Identity } from './identity.js'
import { loadNetworkKey } from './network-key.js'
import { SyncService, type SyncGroup } from './sync.js'
import { SearchService, type NodeSearchOptions, type SearchResult } from './search-service.js'
import { exportHtml, exportJson, type ExportFormat, type GroupExport } from './export.js'
import { BoxBook, boxSigningBytes } from './box-book.js'
import { GroupAdmin } from './group-admin.js'
import { GroupMembership } from './group-membership.js'
import { checkText, historyEntry, mentionsIn, MENTION_ALL } from './history-view.js'
import { PresenceService, type PresenceInit, type PresenceState } from './presence.js'
import type { GroupSummary, HistoryEntry, InviteOptions, MemberSummary, MessageEvent } from './node-types.js'
import { writeDmCreate, type Me } from './trust/actions.js'
import { docCrypto, signerFor } from './trust/keys.js'
import { insecureCrypto } from './trust/insecure.js'

export type { GroupSummary, HistoryEntry, InviteOptions, MemberSummary, MessageEvent } from './node-types.js'
export { MENTION_ALL } from './history-view.js'

const log = logger('outpost:node')

/** How often expired messages are looked for. */
const RETENTION_CHECK_MS = 60_000

export interface OutpostNodeInit {
  /** data directory (LevelDB on disk); ignored when `kv` is given; neither: in memory */
  dataDir?: string
  /** storage to use instead of the data directory's LevelDB (tests) */
  kv?: KvStore
  /** the data directory's passphrase: required when it is encrypted, encrypts it when not */
  passphrase?: string
  /** pre-shared network key; default: the one stored by `outpost init --network-key` */
  networkKey?: Uint8Array
  /** display name, used when the identity is created */
  name?: string
  listen?: string[]
  /** static peers to keep connected (the data directory's peers file is added) */
  peers?: string[]
  mdns?: boolean
  mdnsInterval?: number
  syncIntervalMs?: number
  /** for tests of a broken node: no sync protocol at all */
  syncDisabled?: boolean
  connectionGater?: ConnectionGater
  transports?: Libp2pOptions['transports']
  redial?: RedialerInit
  compactAfter?: number
  /** for tests: other flood-guard budgets */
  floodGuard?: FloodGuardInit
  /** presence heartbeat and typing timeouts (tests shorten them) */
  presence?: PresenceInit
  /**
   * Turns signatures and encryption off, to measure what they cost (benchmarks only: such a
   * node trusts every entry and talks to no node with them on).
   */
  insecure?: boolean
}

type State = 'created' | 'starting' | 'running' | 'stopping' | 'stopped'

/**
 * One Outpost node: identity, groups with their persisted documents, the libp2p host,
 * discovery, gossip and sync. The local API and the CLI are clients of this class.
 * Emits 'message' (MessageEvent) for every message added, locally or by a peer.
 */
export class OutpostNode extends EventEmitter {
  private state: State = 'created'
  private readonly gossipRepair: GossipStreamRepair
  private readonly searchService: SearchService
  private retentionTimer: NodeJS.Timeout | null = null
  /** group-wide actions: create, invite, join, members, roles, removal, keys, audit */
  readonly admin: GroupAdmin

  private constructor (
    readonly host: Host,
    readonly identity: Identity,
    /** this node's signing identity; in-process use only (tests that forge entries) */
    readonly me: Me,
    private readonly kv: KvStore,
    readonly groups: GroupRegistry,
    readonly discovery: Discovery,
    readonly sync: SyncService,
    readonly gossip: GossipService,
    private readonly clock: HybridClock,
    private readonly membership: GroupMembership,
    private readonly presenceService: PresenceService,
    private readonly boxes: BoxBook
  ) {
    super()
    this.admin = new GroupAdmin({
      groups,
      me,
      clock,
      discovery,
      sync,
      membership,
      addGroup: group => { this.addGroup(group) },
      addrs: () => this.addrs,
      nameOf: id => this.nameOf(id),
      connected: () => new Set(host.getConnections().map(c => c.remotePeer.toString()))
    })
    presenceService.on('typing', event => { this.emit('typing', event) })
    presenceService.on('presence', event => { this.emit('presence', event) })
    this.gossipRepair = new GossipStreamRepair(host, host.services.pubsub)
    this.searchService = new SearchService({ kv, groups, entry: m => this.entry(m), peerIdOf: who => { try { return this.whois(who).peerId } catch { return who } } })
  }

  static async create (init: OutpostNodeInit = {}): Promise<OutpostNode> {
    const dataDir = new DataDir(init.dataDir)
    const kv = init.kv ?? (init.dataDir != null ? await dataDir.openDb({ passphrase: init.passphrase }) : new MemoryKv())
    try {
      let identity: Identity
      try {
        identity = await loadIdentity(kv)
      } catch (err) {
        // First run: `outpost start` works on a fresh machine without `outpost init`.
        if ((err as Error).name !== NotInitializedError.NAME) throw err
        identity = await initIdentity(kv, init.name)
      }
      const self = peerIdFromPrivateKey(identity.privateKey).toString()
      const me: Me = { peerId: self, box: identity.box, sign: signerFor(identity.privateKey) }
      const crypto: DocCrypto = init.insecure === true ? insecureCrypto(self, identity.box) : docCrypto(self, identity.privateKey, identity.box)
      const groups = new GroupRegistry(kv, crypto, { compactAfter: init.compactAfter })
      await groups.load()
      const boxes = new BoxBook(kv)
      await boxes.load()
      const signedBox = { key: identity.box.publicKey, sig: Buffer.from(me.sign(boxSigningBytes(identity.box.publicKey))).toString('base64') }
      let node: OutpostNode | undefined
      const clock = new HybridClock()
      const membership = new GroupMembership({ groups, me, clock })
      const onDisk = init.kv == null && init.dataDir != null
      const staticPeers = [...(init.peers ?? []), ...(onDisk ? await readPeersFile(dataDir.peersFile) : [])]
      let discovery: Discovery | undefined
      const host = await createHost({
        onOutboundTransport: peerId => { discovery?.transportConnected(peerId) },
        privateKey: identity.privateKey,
        networkKey: init.networkKey ?? await loadNetworkKey(kv),
        listen: init.listen,
        mdns: init.mdns,
        mdnsInterval: init.mdnsInterval,
        connectionGater: init.connectionGater,
        transports: init.transports,
        floodGuard: init.floodGuard
      })
      discovery = new Discovery({ libp2p: host }, { store: kv, staticPeers, ...init.redial })
      const peers = discovery
      const sync = new SyncService({
        libp2p: host,
        groups: () => groups.list().map(g => membership.syncGroup(g)),
        profileName: () => identity.profile.name,
        onPeerName: (peerId, name) => { peers.setName(peerId, name) },
        profileBox: () => signedBox,
        onPeerBox: (peerId, box) => { if (!boxes.learn(peerId, box)) log.error('%s sent a box key that does not verify', peerId) },
        onUnknownGroup: async (peerId, groupId) => await node?.takeDirectMessages(peerId, groupId),
        guard: host.services.floodGuard
      }, { intervalMs: init.syncIntervalMs, disabled: init.syncDisabled, insecure: init.insecure })
      let presence: PresenceService | undefined
      const gossip = new GossipService({
        onSignal: (group, payload) => presence?.receive(group, payload) ?? true,
        pubsub: host.services.pubsub,
        group: id => groups.get(id),
        onGap: peer => { sync.syncSoon(peer) },
        insecure: init.insecure,
        guard: host.services.floodGuard
      })
      presence = new PresenceService({
        me,
        groups: () => groups.list(),
        group: id => groups.get(id),
        publish: (group, payload) => { gossip.publishSignal(group, payload) },
        connected: peerId => host.getConnections().some(c => c.remotePeer.toString() === peerId)
      }, init.presence)
      node = new OutpostNode(host, identity, me, kv, groups, peers, sync, gossip, clock, membership, presence, boxes)
      return node
    } catch (err) {
      await kv.close()
      throw err
    }
  }

  get peerId (): string { return this.host.peerId.toString() }
  get name (): string { return this.identity.profile.name }
  get addrs (): string[] { return this.host.getMultiaddrs().map(a => a.toString()) }
  get running (): boolean { return this.state === 'running' }

  async start (): Promise<void> {
    if (this.state !== 'created') return
    this.state = 'starting'
    for (const group of this.groups.list()) {
      this.watch(group)
      // Stay monotonic across restarts even if the wall clock went back meanwhile.
      const last = group.doc.latest(1)[0]
      if (last != null) this.clock.observe(last.ts)
      const lastEntry = group.doc.membership.valid.at(-1)
      if (lastEntry != null) this.clock.observe(lastEntry.ts)
    }
    await this.searchService.start()
    await this.host.start()
    this.gossipRepair.start()
    this.gossip.start(this.groups.list())
    await this.sync.start()
    await this.discovery.start()
    this.state = 'running'
    this.membership.start()
    this.presenceService.start()
    // Retention: every node erases what has expired, at start and then every minute.
    this.eraseExpired()
    this.retentionTimer = setInterval(() => { this.eraseExpired() }, RETENTION_CHECK_MS)
    this.retentionTimer.unref()
    log('node %s running on %s', this.peerId, this.addrs.join(', '))
  }

  /** Clean stop: every acknowledged and received change is on disk before it resolves. */
  async stop (): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return
    const wasStarted = this.state !== 'created'
    this.state = 'stopping'
    this.membership.stop()
    if (this.retentionTimer != null) clearInterval(this.retentionTimer)
    if (wasStarted) this.presenceService.stop()
    if (wasStarted) {
      await this.discovery.stop()
      await this.sync.stop()
      this.gossip.stop()
      this.gossipRepair.stop()
      await this.host.stop()
    }
    await this.searchService.stop()
    await this.groups.close()
    await this.kv.close()
    this.state = 'stopped'
    this.removeAllListeners()
  }

  /** `auditDeletes`: message deletions go into the group's audit trail (fixed at creation). */
  async createGroup (name: string, options: { auditDeletes?: boolean } = {}): Promise<{ groupId: GroupId, invite: string }> {
    this.assertRunning()
    return await this.admin.createGroup(name, options)
  }

  /** A signed invite (owners and admins only), with this node's addresses to dial. */
  invite (groupId: string, options: InviteOptions = {}): string {
    return this.admin.invite(groupId, options)
  }

  /** Joins by invite; waits (10 s by default) for a member to let this node in. */
  async joinGroup (inviteText: string, options: { waitMs?: number } = {}): Promise<{ groupId: GroupId, name: string, admitted: boolean }> {
    this.assertRunning()
    return await this.admin.joinGroup(inviteText, options)
  }

  listGroups (): GroupSummary[] {
    return this.groups.list().map(g => ({
      groupId: g.info.groupId,
      name: g.doc.membership.name ?? g.info.name,
      joinedAt: g.info.joinedAt,
      messages: g.doc.size,
      topic: g.topic,
      ...(g.info.dm != null ? { dm: g.info.dm, name: this.nameOf(g.info.dm) ?? g.info.name } : {}),
      role: g.info.removed != null ? null : g.doc.membership.role(this.peerId),
      members: g.doc.membership.members.size,
      retentionSeconds: g.doc.membership.retentionSeconds,
      ...g.doc.unread(this.peerId, [this.peerId, MENTION_ALL]),
      ...(g.info.removed != null ? { removed: { by: g.info.removed.by, at: g.info.removed.at } } : {})
    }))
  }

  /** Sends a text message; resolves once it is on disk (acknowledged), published on gossip. */
  async send (groupId: string, text: string, options: { replyTo?: string } = {}): Promise<HistoryEntry> {
    this.assertRunning()
    const group = this.groups.require(groupId)
    this.assertNotRemoved(group)
    checkText(text)
    if (options.replyTo != null && !isMessageId(options.replyTo)) throw new InvalidRequestError(`reply-to ${options.replyTo} is not a message id`)
    if (options.replyTo != null && group.doc.get(options.replyTo as MessageId) == null) throw new InvalidRequestError(`no message ${options.replyTo} to reply to in group ${groupId}`)
    const mentions = mentionsIn(text, group.doc.membership.members.keys(), id => this.nameOf(id))
    const message = group.doc.post({
      text,
      name: this.name,
      ...(options.replyTo != null ? { replyTo: options.replyTo as MessageId } : {}),
      ...(mentions.length > 0 ? { mentions } : {})
    }, this.clock.tick())
    await group.persisted.flushed()
    return this.entry(message)
  }

  /** Replaces the text of one of this node's own messages (the edit is signed and kept). */
  async edit (groupId: string, messageId: string, text: string): Promise<HistoryEntry> {
    this.assertRunning()
    const group = this.groups.require(groupId)
    checkText(text)
    if (!isMessageId(messageId) || group.doc.get(messageId) == null) throw new InvalidRequestError(`no message ${messageId} in group ${groupId}`)
    const message = group.doc.edit(messageId, text, this.name, this.clock.tick())
    await group.persisted.flushed()
    return this.entry(message)
  }

  /** Deletes a message: one's own, or anyone's for owners and admins. */
  async deleteMessage (groupId: string, messageId: string): Promise<HistoryEntry> {
    this.assertRunning()
    const group = this.groups.require(groupId)
    this.assertNotRemoved(group)
    if (!isMessageId(messageId) || group.doc.get(messageId) == null) throw new InvalidRequestError(`no message ${messageId} in group ${groupId}`)
    group.doc.delete(messageId, this.clock.tick())
    await group.persisted.flushed()
    return this.entry(group.doc.get(messageId) as ChatMessage)
  }

  /** Toggles this node's reaction with `emoji` on a message. */
  async react (groupId: string, messageId: string, emoji: string): Promise<HistoryEntry> {
    const group = this.messageGroup(groupId, messageId)
    const message = group.doc.react(messageId as MessageId, emoji, this.clock.tick())
    await group.persisted.flushed()
    return this.entry(message)
  }

  /** Pins (or, with `on: false`, unpins) a message for the group; without `on`, toggles. */
  async pin (groupId: string, messageId: string, on?: boolean): Promise<HistoryEntry> {
    const group = this.messageGroup(groupId, messageId)
    const pinned = on ?? !(group.doc.get(messageId as MessageId)?.pinned ?? false)
    const message = group.doc.pin(messageId as MessageId, pinned, this.clock.tick())
    await group.persisted.flushed()
    return this.entry(message)
  }

  /** A message and its replies, oldest first. */
  thread (groupId: string, messageId: string): HistoryEntry[] {
    const group = this.groups.require(groupId)
    if (!isMessageId(messageId) || group.doc.get(messageId) == null) throw new InvalidRequestError(`no message ${messageId} in group ${groupId}`)
    return group.doc.thread(messageId).map(m => this.entry(m))
  }

  /** Marks a group read up to a message (default: the latest); answers what is left unread. */
  async markRead (groupId: string, messageId?: string): Promise<{ groupId: string, upTo: string | null, unread: number }> {
    this.assertRunning()
    const group = this.groups.require(groupId)
    if (messageId != null && !isMessageId(messageId)) throw new InvalidRequestError(`${messageId} is not a message id`)
    const upTo = group.doc.markRead(messageId as MessageId | undefined, this.clock.tick())
    await group.persisted.flushed()
    return { groupId: group.info.groupId, upTo: upTo ?? null, unread: group.doc.unread(this.peerId).unread }
  }

  /** Who has read a group up to which message. */
  receipts (groupId: string): Array<{ peerId: string, name?: string, upTo: string, ts: number }> {
    return this.groups.require(groupId).doc.receipts().map(r => ({
      peerId: r.peerId,
      ...(this.nameOf(r.peerId) != null ? { name: this.nameOf(r.peerId) } : {}),
      upTo: r.upTo,
      ts: r.ts.ms
    }))
  }

  /** The group's whole history (with members) in a form people read without Outpost. */
  exportGroup (groupId: string, format: ExportFormat): string {
    const group = this.groups.require(groupId)
    const data: GroupExport = {
      format: 'outpost-export/1',
      group: { groupId: group.info.groupId, name: group.doc.membership.name ?? group.info.name },
      exportedAt: new Date().toISOString(),
      exportedBy: { peerId: this.peerId, name: this.name },
      members: this.members(groupId),
      messages: this.history(groupId)
    }
    return format === 'json' ? exportJson(data) : exportHtml(data)
  }

  /** Tells the group's members this node's user is typing (lasts a few seconds). */
  typing (groupId: string): void {
    this.assertRunning()
    this.presenceService.typing(this.groups.require(groupId).info.groupId)
  }

  /** This node's user is away, or back. */
  setAway (away: boolean): void {
    this.presenceService.setAway(away)
  }

  /** Each member's presence (online, away, offline, last seen) and whether they are typing. */
  presence (groupId: string): Array<{ peerId: string, name?: string, state: PresenceState, lastSeen?: number, typing: boolean }> {
    const group = this.groups.require(groupId)
    return [...this.presenceService.presence(group)].map(([peerId, p]) => {
      // Last seen: the later of the last signal and the last connection the peer book holds.
      const book = this.discovery.peers().find(x => x.peerId === peerId)?.lastSeen
      const lastSeen = Math.max(p.lastSeen ?? 0, book ?? 0)
      return { peerId, ...(this.nameOf(peerId) != null ? { name: this.nameOf(peerId) } : {}), state: p.state, ...(lastSeen > 0 ? { lastSeen } : {}), typing: p.typing }
    })
  }

  pins (groupId: string): HistoryEntry[] {
    return this.groups.require(groupId).doc.pinned().map(m => this.entry(m))
  }

  private messageGroup (groupId: string, messageId: string): Group {
    this.assertRunning()
    const group = this.groups.require(groupId)
    this.assertNotRemoved(group)
    if (!isMessageId(messageId) || group.doc.get(messageId) == null) throw new InvalidRequestError(`no message ${messageId} in group ${groupId}`)
    return group
  }

  /** Hands every member a fresh group key (owners and admins); later messages use it. */
  async rotateKey (groupId: string): Promise<{ keyId: string }> {
    this.assertRunning()
    return await this.admin.rotateKey(groupId)
  }

  /**
   * Sends a direct message: the two-member group this node shares with `who` (a PeerId, or a
   * name one known peer has) is opened on first use, its key wrapped to both. The other
   * node takes part as soon as the two meet. Needs the other's box key, learned when the
   * two nodes last met.
   */
  async dm (who: string, text: string): Promise<{ groupId: GroupId, message: HistoryEntry }> {
    this.assertRunning()
    const peer = this.peerIdOf(who)
    if (peer === this.peerId) throw new InvalidRequestError('a direct message needs someone else')
    checkText(text)
    const groupId = dmGroupId(this.peerId, peer)
    let group = this.groups.get(groupId)
    if (group == null || group.doc.membership.creator == null) {
      const box = this.boxes.get(peer)
      if (box == null) throw new NotAllowedError(`this node has not met ${who} yet (their key arrives when the two nodes connect); try again once they are connected`)
      group ??= await this.groups.create(groupId, this.nameOf(peer) ?? 'direct message', { dm: peer })
      writeDmCreate(group.doc, this.me, peer, box, this.clock.tick())
      await group.persisted.flushed()
      this.addGroup(group)
      this.sync.syncAll()
    }
    const message = await this.send(groupId, text)
    return { groupId, message }
  }

  /** A peer named the direct-message group we share with it: take part from now on. */
  async takeDirectMessages (peer: string, groupId: GroupId): Promise<SyncGroup | undefined> {
    if (this.state !== 'running' || groupId !== dmGroupId(this.peerId, peer)) return undefined
    let group = this.groups.get(groupId)
    if (group == null) {
      group = await this.groups.create(groupId, this.nameOf(peer) ?? 'direct message', { dm: peer })
      this.addGroup(group)
      log('direct messages with %s: group %s', peer, groupId)
      // This exchange began before we held the group: another, right after, brings its history.
      this.sync.syncWith(peerIdFromString(peer)).catch(() => {})
    }
    return this.membership.syncGroup(group)
  }

  /** A peer by PeerId, or by a name exactly one known peer has. */
  private peerIdOf (who: string): string {
    if (who === this.peerId || who === this.name) return this.peerId
    const peers = this.peers()
    if (peers.some(p => p.peerId === who)) return who
    const named = peers.filter(p => p.name === who)
    if (named.length === 1) return named[0].peerId
    if (named.length > 1) throw new InvalidRequestError(`${named.length} peers are named '${who}'; give the peer id (see 'outpost peers')`)
    throw new UnknownPeerError(`no known peer '${who}'; see 'outpost peers'`)
  }

  /** The latest `limit` messages of a group (all when omitted), oldest first. */
  history (groupId: string, options: { limit?: number } = {}): HistoryEntry[] {
    const group = this.groups.require(groupId)
    if (options.limit != null && (!Number.isSafeInteger(options.limit) || options.limit < 0)) {
      throw new InvalidRequestError('limit must be a non-negative integer')
    }
    return group.doc.latest(options.limit).map(m => this.entry(m))
  }

  members (groupId: string): MemberSummary[] {
    return this.admin.members(groupId)
  }

  /** Removes a member and rotates the group key; resolves once the change is on disk. */
  async removeMember (groupId: string, peer: string): Promise<MemberSummary[]> {
    this.assertRunning()
    return await this.admin.removeMember(groupId, peer)
  }

  async setRole (groupId: string, peer: string, role: string): Promise<MemberSummary[]> {
    this.assertRunning()
    return await this.admin.setRole(groupId, peer, role)
  }

  /** How long the group keeps messages, in seconds (0: forever); owners and admins. */
  async setRetention (groupId: string, seconds: number): Promise<{ groupId: string, retentionSeconds: number, erased: number }> {
    this.assertRunning()
    return await this.admin.setRetention(groupId, seconds)
  }

  /** The group's audit trail as JSON lines (see trust/audit.ts). */
  auditExport (groupId: string): string[] {
    return this.admin.auditExport(groupId)
  }

  peers (): PeerStatus[] {
    return this.discovery.peers()
  }

  /**
   * Who a peer is: by peer id, or by display name when exactly one known peer has it;
   * this node itself answers to its own id or name. Includes the safety number.
   */
  whois (who: string): PeerStatus & { self: boolean, safetyNumber: string } {
    if (who === this.peerId || who === this.name) {
      return { peerId: this.peerId, name: this.name, addrs: this.addrs, connected: true, self: true, safetyNumber: safetyNumber(this.peerId) }
    }
    const peers = this.peers()
    let matches = peers.filter(p => p.peerId === who)
    if (matches.length === 0) matches = peers.filter(p => p.name === who)
    if (matches.length > 1) throw new InvalidRequestError(`${matches.length} peers are named '${who}'; give the peer id (see 'outpost peers')`)
    if (matches.length === 0) throw new UnknownPeerError(`no known peer '${who}'; see 'outpost peers'`)
    return { ...matches[0], self: false, safetyNumber: safetyNumber(matches[0].peerId) }
  }

  /** Full-text search over every group this node holds (see node/search-service.ts). */
  async search (query: string, options: NodeSearchOptions = {}): Promise<SearchResult[]> {
    return await this.searchService.search(query, options)
  }

  private addGroup (group: Group): void {
    this.watch(group)
    this.searchService.watch(group)
    this.gossip.addGroup(group)
  }

  private nameOf (peerId: string): string | undefined {
    return peerId === this.peerId ? this.name : this.discovery.name(peerId)
  }

  private watch (group: Group): void {
    group.doc.onMembership((membership, origin) => {
      if (origin === 'remote') {
        const last = membership.valid[membership.valid.length - 1]
        if (last != null) this.clock.observe(last.ts)
      }
      this.membership.onNews(group)
    })
    group.doc.onMessages((messages, origin) => {
      if (origin === 'remote') this.clock.observe(messages[messages.length - 1].ts)
      // Building the API's view of each message costs something on the receive path.
      if (this.listenerCount('message') === 0) return
      for (const message of messages) this.emit('message', { groupId: group.info.groupId, message: this.entry(message), origin } satisfies MessageEvent)
    })
  }

  private eraseExpired (): void {
    for (const group of this.groups.list()) {
      try {
        const erased = group.doc.eraseExpired()
        if (erased > 0) log('erased %d expired entries of %s', erased, group.info.groupId)
      } catch (err) {
        log.error('cannot erase expired messages of %s: %s', group.info.groupId, (err as Error).message)
      }
    }
  }

  private entry (m: ChatMessage): HistoryEntry {
    return historyEntry(m, this.peerId, id => this.nameOf(id))
  }

  private assertNotRemoved (group: Group): void {
    const removed = group.info.removed
    if (removed == null) return
    throw new NotAllowedError(`this node was removed from the group by ${this.nameOf(removed.by) ?? removed.by} on ${new Date(removed.at).toISOString()}`)
  }

  private assertRunning (): void {
    if (this.state !== 'running') throw new NodeStoppedError(`the node is ${this.state}`)
  }
}
