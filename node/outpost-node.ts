import { EventEmitter } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { HybridClock, MemoryKv, type ChatMessage, type DocCrypto, type GroupId, type KvStore } from '../crdt/index.js'
import { Discovery, readPeersFile, type PeerStatus } from '../discovery/index.js'
import { DataDir } from './data-dir.js'
import { NodeStoppedError, NotInitializedError } from './errors.js'
import { safetyNumber } from './safety-number.js'
import { FaultInjector } from './fault-injector.js'
import { GossipService } from './gossip.js'
import { GossipStreamRepair } from './gossip-repair.js'
import { GroupRegistry, type Group } from './groups.js'
import { createHost, type Host } from './host.js'
import { initIdentity, loadIdentity, saveProfileName, type Identity } from './identity.js'
import { loadNetworkKey } from './network-key.js'
import { SyncService } from './sync.js'
import { SearchService, type NodeSearchOptions, type SearchResult } from './search-service.js'
import type { ExportFormat } from './export.js'
import { BoxBook, boxSigningBytes } from './box-book.js'
import { Conversations, type HistoryPage } from './conversations.js'
import { FileService, type SendFileOptions } from './files/index.js'
import { GroupAdmin } from './group-admin.js'
import { resolvePeer } from './names.js'
import { GroupMembership } from './group-membership.js'
import { PresenceService, type PresenceState } from './presence.js'
import type { GroupSummary, HistoryEntry, InviteOptions, MemberSummary, MessageEvent, NetworkSummary } from './node-types.js'
import type { OutpostNodeInit } from './node-init.js'
import type { Me } from './trust/actions.js'
import { docCrypto, signerFor } from './trust/keys.js'
import { signatureVerifier, type SignatureVerifier } from './trust/verify-pool.js'
import { insecureCrypto } from './trust/insecure.js'

export type { OutpostNodeInit } from './node-init.js'
export type { GroupSummary, HistoryEntry, InviteOptions, MemberSummary, MessageEvent } from './node-types.js'
export { MENTION_ALL } from './history-view.js'

const log = logger('outpost:node')

/** How often expired messages are looked for. */
const RETENTION_CHECK_MS = 60_000

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
  private readonly filesDir: { dir: string, temporary: boolean }
  /** group-wide actions: create, invite, join, members, roles, removal, keys, audit */
  readonly admin: GroupAdmin
  /** gestures in conversations: messages, edits, deletes, reactions, pins, receipts, DMs */
  readonly conversations: Conversations
  /** files in conversations: send, fetch from members, serve, progress */
  readonly files: FileService

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
    boxes: BoxBook,
    files: { dir: string, temporary: boolean, maxFileBytes?: number },
    /** checks large syncs' signatures in batches (none in insecure mode) */
    private readonly verifier: SignatureVerifier | null
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
    this.conversations = new Conversations({
      groups,
      me,
      clock,
      boxes,
      sync,
      membership,
      name: () => this.name,
      nameOf: id => this.nameOf(id),
      peerIdOf: who => this.peerIdOf(who),
      members: groupId => this.admin.members(groupId),
      addGroup: group => { this.addGroup(group) },
      running: () => this.state === 'running'
    })
    this.files = new FileService({
      libp2p: host,
      groups,
      guard: host.services.floodGuard,
      post: async (groupId, text, options) => await this.conversations.send(groupId, text, options),
      assertMayPost: groupId => { this.conversations.assertMayPost(groupId) }
    }, { dir: files.dir, maxFileBytes: files.maxFileBytes })
    this.filesDir = files
    this.files.on('progress', status => { this.emit('file', status) })
    presenceService.on('typing', event => { this.emit('typing', event) })
    presenceService.on('presence', event => { this.emit('presence', event) })
    this.gossipRepair = new GossipStreamRepair(host, host.services.pubsub)
    this.searchService = new SearchService({ kv, groups, entry: m => this.entry(m), peerIdOf: who => { try { return this.peerIdOf(who) } catch { return who } } })
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
      const crypto: DocCrypto = init.insecure === true ? insecureCrypto(self, identity.box) : docCrypto(self, identity.privateKey, identity.box, signatureVerifier.session)
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
      let gossip: GossipService | undefined
      const host = await createHost({
        onGossipCopy: () => { if (gossip != null) gossip.stats.copiesReceived++ },
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
        onUnknownGroup: async (peerId, groupId) => await node?.conversations.takeDirectMessages(peerId, groupId),
        guard: host.services.floodGuard
      }, { intervalMs: init.syncIntervalMs, disabled: init.syncDisabled, insecure: init.insecure })
      let presence: PresenceService | undefined
      gossip = new GossipService({
        onSignal: (group, payload) => presence?.receive(group, payload) ?? true,
        pubsub: host.services.pubsub,
        group: id => groups.get(id),
        onGap: peer => { sync.syncSoon(peer) },
        insecure: init.insecure,
        guard: host.services.floodGuard,
        faults: init.labFaults === true ? new FaultInjector() : undefined
      })
      presence = new PresenceService({
        me,
        groups: () => groups.list(),
        group: id => groups.get(id),
        publish: (group, payload) => { gossip.publishSignal(group, payload) },
        connected: peerId => host.getConnections().some(c => c.remotePeer.toString() === peerId)
      }, init.presence)
      // A node without a data directory keeps its files in a temporary one, removed at stop.
      const files = onDisk ? { dir: join(dataDir.path, 'files'), temporary: false } : { dir: await mkdtemp(join(tmpdir(), 'outpost-files-')), temporary: true }
      node = new OutpostNode(host, identity, me, kv, groups, peers, sync, gossip, clock, membership, presence, boxes, { ...files, maxFileBytes: init.maxFileBytes }, init.insecure === true ? null : signatureVerifier)
      return node
    } catch (err) {
      await kv.close()
      throw err
    }
  }

  get peerId (): string { return this.host.peerId.toString() }
  get name (): string { return this.identity.profile.name }
  /** false until someone chose the display name (`init --name`, or POST /v1/profile) */
  get named (): boolean { return this.identity.profile.unnamed !== true }

  /** Sets this user's display name; peers learn it at the next sync, which starts now. */
  async setName (name: string): Promise<{ name: string }> {
    this.assertRunning()
    const profile = await saveProfileName(this.kv, this.identity, name)
    this.sync.syncAll()
    return { name: profile.name }
  }
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
    await this.files.start()
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
      await this.files.stop()
      this.gossip.stop()
      this.gossipRepair.stop()
      await this.host.stop()
    }
    await this.searchService.stop()
    if (this.filesDir.temporary) await rm(this.filesDir.dir, { recursive: true, force: true })
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
    // The group's history arrives with the admission, its signatures to check in one batch.
    this.verifier?.warm()
    return await this.admin.joinGroup(inviteText, options)
  }

  listGroups (): GroupSummary[] {
    return this.admin.summaries()
  }

  /** Sends a text message; resolves once it is on disk (acknowledged), published on gossip. */
  async send (groupId: string, text: string, options: { replyTo?: string } = {}): Promise<HistoryEntry> {
    this.assertRunning()
    return await this.conversations.send(groupId, text, options)
  }

  /** Sends a file into a group (see FileService.send); resolves once its message is on disk. */
  async sendFile (groupId: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: SendFileOptions): Promise<{ message: HistoryEntry, fileId: string }> {
    this.assertRunning()
    return await this.files.send(groupId, source, options)
  }

  /** Replaces the text of one of this node's own messages (the edit is signed and kept). */
  async edit (groupId: string, messageId: string, text: string): Promise<HistoryEntry> {
    this.assertRunning()
    return await this.conversations.edit(groupId, messageId, text)
  }

  /** Deletes (and every node erases) a message: one's own, or anyone's for owners and admins. */
  async deleteMessage (groupId: string, messageId: string): Promise<HistoryEntry> {
    this.assertRunning()
    return await this.conversations.deleteMessage(groupId, messageId)
  }

  /** Toggles this node's reaction with `emoji` on a message. */
  async react (groupId: string, messageId: string, emoji: string): Promise<HistoryEntry> {
    this.assertRunning()
    return await this.conversations.react(groupId, messageId, emoji)
  }

  /** Pins (or, with `on: false`, unpins) a message for the group; without `on`, toggles. */
  async pin (groupId: string, messageId: string, on?: boolean): Promise<HistoryEntry> {
    this.assertRunning()
    return await this.conversations.pin(groupId, messageId, on)
  }

  /** Marks a group read up to a message (default: the latest); answers what is left unread. */
  async markRead (groupId: string, messageId?: string): Promise<{ groupId: string, upTo: string | null, unread: number }> {
    this.assertRunning()
    return await this.conversations.markRead(groupId, messageId)
  }

  /** Sends a direct message to a peer (id or name); see Conversations.dm. */
  async dm (who: string, text: string): Promise<{ groupId: GroupId, message: HistoryEntry }> {
    this.assertRunning()
    return await this.conversations.dm(who, text)
  }

  history (groupId: string, options: HistoryPage = {}): HistoryEntry[] { return this.conversations.history(groupId, options) }
  thread (groupId: string, messageId: string): HistoryEntry[] { return this.conversations.thread(groupId, messageId) }
  pins (groupId: string): HistoryEntry[] { return this.conversations.pins(groupId) }
  receipts (groupId: string): ReturnType<Conversations['receipts']> { return this.conversations.receipts(groupId) }
  /** With `filesDir`, files this node holds are named at their place in it (see Conversations.exportGroup). */
  exportGroup (groupId: string, format: ExportFormat, filesDir?: string): string {
    const held = (fileId: string): boolean => this.files.status(fileId).state === 'complete'
    return this.conversations.exportGroup(groupId, format, filesDir != null ? { dir: filesDir, held } : undefined)
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
    const lastInBook = new Map(this.discovery.peers().map(p => [p.peerId, p.lastSeen]))
    return [...this.presenceService.presence(group)].map(([peerId, p]) => {
      // Last seen: the later of the last signal and the last connection the peer book holds.
      const book = lastInBook.get(peerId)
      const lastSeen = Math.max(p.lastSeen ?? 0, book ?? 0)
      return { peerId, ...(this.nameOf(peerId) != null ? { name: this.nameOf(peerId) } : {}), state: p.state, ...(lastSeen > 0 ? { lastSeen } : {}), typing: p.typing }
    })
  }

  /** Hands every member a fresh group key (owners and admins); later messages use it. */
  async rotateKey (groupId: string): Promise<{ keyId: string }> {
    this.assertRunning()
    return await this.admin.rotateKey(groupId)
  }

  members (groupId: string): MemberSummary[] {
    return this.admin.members(groupId)
  }

  /** Who is reachable, last seen and last synced: see GroupAdmin.network. */
  network (): NetworkSummary {
    return this.admin.network()
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
    const peerId = this.peerIdOf(who)
    if (peerId === this.peerId) {
      return { peerId, name: this.name, addrs: this.addrs, connected: true, self: true, safetyNumber: safetyNumber(peerId) }
    }
    const status = this.peers().find(p => p.peerId === peerId) as PeerStatus
    return { ...status, self: false, safetyNumber: safetyNumber(peerId) }
  }

  /** A peer by PeerId, or by a name exactly one known peer has; this node answers to its own. */
  private peerIdOf (who: string): string {
    return resolvePeer(who, [this.peerId, ...this.peers().map(p => p.peerId)], id => this.nameOf(id),
      { noun: 'peer', hint: 'outpost peers', notFound: `no known peer '${who}'` })
  }


  /** Full-text search over every group this node holds (see node/search-service.ts). */
  async search (query: string, options: NodeSearchOptions = {}): Promise<SearchResult[]> {
    return await this.searchService.search(query, options)
  }

  private addGroup (group: Group): void {
    this.watch(group)
    this.searchService.watch(group)
    this.files.watch(group)
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
    return this.conversations.entry(m)
  }

  private assertRunning (): void {
    if (this.state !== 'running') throw new NodeStoppedError(`the node is ${this.state}`)
  }
}
