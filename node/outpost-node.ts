import { EventEmitter } from 'node:events'
import { logger } from '@libp2p/logger'
import type { ConnectionGater } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'
import { HybridClock, MAX_TEXT_BYTES, MemoryKv, newMessageId, isMessageId, type ChatMessage, type ChangeOrigin, type GroupId, type KvStore } from '../crdt/index.js'
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
import { SyncService } from './sync.js'
import { decodeInvite, encodeInvite } from './wire/invite.js'

const log = logger('outpost:node')

export interface OutpostNodeInit {
  /** data directory (LevelDB on disk); ignored when `kv` is given; neither: in memory */
  dataDir?: string
  /** storage to use instead of the data directory's LevelDB (tests) */
  kv?: KvStore
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
}

export interface HistoryEntry {
  id: string
  author: string
  authorName: string
  /** wall-clock ms of the hybrid logical clock */
  ts: number
  /** full hybrid-logical-clock timestamp, for tie-breaking */
  hlc: { ms: number, c: number }
  text: string
  replyTo?: string
  edits: number
  deleted: boolean
}

export interface GroupSummary {
  groupId: string
  name: string
  joinedAt: number
  messages: number
  topic: string
}

export interface MessageEvent {
  groupId: GroupId
  message: HistoryEntry
  origin: ChangeOrigin
}

type State = 'created' | 'starting' | 'running' | 'stopping' | 'stopped'

/**
 * One Outpost node: identity, groups with their persisted documents, the libp2p host,
 * discovery, gossip and sync. The local API and the CLI are clients of this class.
 * Emits 'message' (MessageEvent) for every message added, locally or by a peer.
 */
export class OutpostNode extends EventEmitter {
  private state: State = 'created'
  private readonly clock = new HybridClock()
  private readonly gossipRepair: GossipStreamRepair

  private constructor (
    readonly host: Host,
    readonly identity: Identity,
    private readonly kv: KvStore,
    readonly groups: GroupRegistry,
    readonly discovery: Discovery,
    readonly sync: SyncService,
    readonly gossip: GossipService
  ) {
    super()
    this.gossipRepair = new GossipStreamRepair(host, host.services.pubsub)
  }

  static async create (init: OutpostNodeInit = {}): Promise<OutpostNode> {
    const dataDir = new DataDir(init.dataDir)
    const kv = init.kv ?? (init.dataDir != null ? await dataDir.openDb() : new MemoryKv())
    try {
      let identity: Identity
      try {
        identity = await loadIdentity(kv)
      } catch (err) {
        // First run: `outpost start` works on a fresh machine without `outpost init`.
        if ((err as Error).name !== NotInitializedError.NAME) throw err
        identity = await initIdentity(kv, init.name)
      }
      const groups = new GroupRegistry(kv, { compactAfter: init.compactAfter })
      await groups.load()
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
        groups: () => groups.list().map(g => ({ groupId: g.info.groupId, doc: g.doc })),
        profileName: () => identity.profile.name,
        onPeerName: (peerId, name) => { peers.setName(peerId, name) },
        guard: host.services.floodGuard
      }, { intervalMs: init.syncIntervalMs, disabled: init.syncDisabled })
      const gossip = new GossipService({
        pubsub: host.services.pubsub,
        group: id => groups.get(id),
        onGap: peer => { sync.syncSoon(peer) },
        guard: host.services.floodGuard
      })
      return new OutpostNode(host, identity, kv, groups, peers, sync, gossip)
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
    }
    await this.host.start()
    this.gossipRepair.start()
    this.gossip.start(this.groups.list())
    await this.sync.start()
    await this.discovery.start()
    this.state = 'running'
    log('node %s running on %s', this.peerId, this.addrs.join(', '))
  }

  /** Clean stop: every acknowledged and received change is on disk before it resolves. */
  async stop (): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return
    const wasStarted = this.state !== 'created'
    this.state = 'stopping'
    if (wasStarted) {
      await this.discovery.stop()
      await this.sync.stop()
      this.gossip.stop()
      this.gossipRepair.stop()
      await this.host.stop()
    }
    await this.groups.close()
    await this.kv.close()
    this.state = 'stopped'
    this.removeAllListeners()
  }

  async createGroup (name: string): Promise<{ groupId: GroupId, invite: string }> {
    this.assertRunning()
    const group = await this.groups.create(name, this.peerId)
    this.addGroup(group)
    return { groupId: group.info.groupId, invite: this.invite(group.info.groupId) }
  }

  invite (groupId: string): string {
    const group = this.groups.require(groupId)
    return encodeInvite({ groupId: group.info.groupId, name: group.info.name, inviter: this.peerId, addrs: this.addrs })
  }

  /** Joins by invite: the group is added, its topic subscribed, and the inviter dialed and synced. */
  async joinGroup (inviteText: string): Promise<{ groupId: GroupId, name: string }> {
    this.assertRunning()
    const invite = decodeInvite(inviteText)
    const { group, isNew } = await this.groups.join(invite.groupId, invite.name)
    if (isNew) this.addGroup(group)
    if (invite.inviter !== this.peerId) this.discovery.addPeer(invite.inviter, invite.addrs)
    this.sync.syncAll()
    return { groupId: group.info.groupId, name: group.info.name }
  }

  listGroups (): GroupSummary[] {
    return this.groups.list().map(g => ({
      groupId: g.info.groupId,
      name: g.doc.getMeta().name ?? g.info.name,
      joinedAt: g.info.joinedAt,
      messages: g.doc.size,
      topic: g.topic
    }))
  }

  /** Sends a text message; resolves once it is on disk (acknowledged), published on gossip. */
  async send (groupId: string, text: string, options: { replyTo?: string } = {}): Promise<HistoryEntry> {
    this.assertRunning()
    const group = this.groups.require(groupId)
    if (typeof text !== 'string' || text.trim().length === 0) throw new InvalidRequestError('the message text is empty')
    if (Buffer.byteLength(text) > MAX_TEXT_BYTES) throw new InvalidRequestError(`the message is longer than ${MAX_TEXT_BYTES} bytes`)
    if (options.replyTo != null && !isMessageId(options.replyTo)) throw new InvalidRequestError(`reply-to ${options.replyTo} is not a message id`)
    const message: ChatMessage = {
      v: 1,
      id: newMessageId(),
      author: this.peerId,
      authorName: this.name,
      ts: this.clock.tick(),
      kind: 'text',
      text,
      ...(options.replyTo != null ? { replyTo: options.replyTo as ChatMessage['replyTo'] } : {}),
      edits: 0,
      deleted: false
    }
    group.doc.add(message)
    await group.persisted.flushed()
    return this.entry(message)
  }

  /** The latest `limit` messages of a group (all when omitted), oldest first. */
  history (groupId: string, options: { limit?: number } = {}): HistoryEntry[] {
    const group = this.groups.require(groupId)
    if (options.limit != null && (!Number.isSafeInteger(options.limit) || options.limit < 0)) {
      throw new InvalidRequestError('limit must be a non-negative integer')
    }
    return group.doc.latest(options.limit).map(m => this.entry(m))
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

  private addGroup (group: Group): void {
    this.watch(group)
    this.gossip.addGroup(group)
  }

  private watch (group: Group): void {
    group.doc.onMessages((messages, origin) => {
      if (origin === 'remote') this.clock.observe(messages[messages.length - 1].ts)
      // Building the API's view of each message costs something on the receive path.
      if (this.listenerCount('message') === 0) return
      for (const message of messages) this.emit('message', { groupId: group.info.groupId, message: this.entry(message), origin } satisfies MessageEvent)
    })
  }

  private entry (m: ChatMessage): HistoryEntry {
    return {
      id: m.id,
      author: m.author,
      authorName: m.author === this.peerId ? this.name : (this.discovery.name(m.author) ?? m.authorName),
      ts: m.ts.ms,
      hlc: { ms: m.ts.ms, c: m.ts.c },
      text: m.text,
      ...(m.replyTo != null ? { replyTo: m.replyTo } : {}),
      edits: m.edits,
      deleted: m.deleted
    }
  }

  private assertRunning (): void {
    if (this.state !== 'running') throw new NodeStoppedError(`the node is ${this.state}`)
  }
}
