import { DocStore, GroupDoc, InvalidUpdateError, isGroupId, prefixRange, type DocCrypto, type GroupId, type JoinRequest, type KvStore, type PersistedDoc } from '../crdt/index.js'
import { logger } from '@libp2p/logger'
import { GROUP_TOPIC_PREFIX } from './constants.js'
import { UnknownGroupError } from './errors.js'
import { checkName } from './identity.js'

export interface GroupInfo {
  groupId: GroupId
  name: string
  /** ms since epoch when this node created or joined the group */
  joinedAt: number
  /** our signed join request, kept until a member has let us in */
  join?: JoinRequest
  /** a member refused us the group, showing the signed entry that removed us */
  removed?: Removal
  /** a direct-message group: the other person */
  dm?: string
}

export interface Removal {
  /** the removal entry's id, its author and when (ms) */
  entry: string
  by: string
  at: number
  /** the peer that told us */
  reportedBy: string
}

export interface Group {
  info: GroupInfo
  topic: string
  doc: GroupDoc
  persisted: PersistedDoc
}

export function topicOf (groupId: GroupId): string {
  return GROUP_TOPIC_PREFIX + groupId
}

const PREFIX = 'group!'
const log = logger('outpost:groups')

/** The groups this node belongs to, each with its open, persisted document. */
export class GroupRegistry {
  private readonly groups = new Map<GroupId, Group>()
  private readonly docs: DocStore

  constructor (private readonly kv: KvStore, private readonly crypto: DocCrypto, init: { compactAfter?: number } = {}) {
    this.docs = new DocStore(kv, init)
  }

  /** Opens every group stored on this node. */
  async load (): Promise<void> {
    for await (const [key, value] of this.kv.entries(prefixRange(PREFIX))) {
      let info: GroupInfo
      try {
        info = JSON.parse(Buffer.from(value).toString('utf8')) as GroupInfo
        if (!isGroupId(info.groupId) || typeof info.name !== 'string') throw new Error('missing fields')
      } catch (err) {
        throw new InvalidUpdateError(`the stored record ${key} of the data directory is corrupt (${(err as Error).message})`)
      }
      const group = await this.open(info)
      if (group.doc.membership.creator == null && info.join == null && group.doc.doc.getMap('meta').size > 0) {
        // Written before entries were signed (wire and storage v1): nothing in it can be
        // checked, so nothing of it is shown. The data stays on disk untouched.
        log.error('group %s (%s) was stored by an older Outpost, before signed entries; it cannot be read and is shown empty', info.groupId, info.name)
      }
    }
  }

  /** A new, empty group; the caller writes its signed `create` entry (or a peer sends it). */
  async create (groupId: GroupId, name: string, options: { dm?: string } = {}): Promise<Group> {
    return await this.add({ groupId, name: checkName(name), joinedAt: Date.now(), ...(options.dm != null ? { dm: options.dm } : {}) })
  }

  /**
   * Adds a group learned from an invite, with the join request that members will check;
   * joining a group already held only refreshes the request (a newer invite, say).
   */
  async join (groupId: GroupId, name: string, join: JoinRequest): Promise<{ group: Group, isNew: boolean }> {
    const existing = this.groups.get(groupId)
    if (existing != null) {
      if (existing.doc.membership.role(join.by) == null) await this.save({ ...existing.info, join })
      return { group: existing, isNew: false }
    }
    return { group: await this.add({ groupId, name: checkName(name), joinedAt: Date.now(), join }), isNew: true }
  }

  /** Records (or, with null, forgets) that we were removed from the group. */
  async setRemoved (groupId: GroupId, removed: Removal | null): Promise<void> {
    const group = this.groups.get(groupId)
    if (group == null) return
    const { removed: _old, ...info } = group.info
    await this.save(removed == null ? info : { ...info, removed })
  }

  /** A member let us in: the join request is no longer needed. */
  async admitted (groupId: GroupId): Promise<void> {
    const group = this.groups.get(groupId)
    if (group?.info.join == null) return
    const { join: _join, ...info } = group.info
    await this.save(info)
  }

  get (groupId: string): Group | undefined {
    return this.groups.get(groupId as GroupId)
  }

  /** The group, or UnknownGroupError that says how to find the right id. */
  require (groupId: string): Group {
    const group = this.groups.get(groupId as GroupId)
    if (group == null) throw new UnknownGroupError(`no group ${groupId} on this node; see 'outpost group list'`)
    return group
  }

  list (): Group[] {
    return [...this.groups.values()].sort((a, b) => a.info.joinedAt - b.info.joinedAt)
  }

  async flush (): Promise<void> {
    await this.docs.flush()
  }

  async close (): Promise<void> {
    await this.docs.flush()
    for (const group of this.groups.values()) {
      group.persisted.detach()
      group.doc.destroy()
    }
    this.groups.clear()
  }

  private async save (info: GroupInfo): Promise<void> {
    await this.kv.batch([{ type: 'put', key: PREFIX + info.groupId, value: Buffer.from(JSON.stringify(info)) }])
    const group = this.groups.get(info.groupId)
    if (group != null) group.info = info
  }

  private async add (info: GroupInfo): Promise<Group> {
    await this.save(info)
    return await this.open(info)
  }

  private async open (info: GroupInfo): Promise<Group> {
    const doc = new GroupDoc(info.groupId, this.crypto)
    const persisted = await this.docs.attach(info.groupId, doc.doc, listener => doc.onUpdate(listener))
    // What was erased must leave the disk too; and a crash may have left an erasure undone.
    doc.onErased(() => { persisted.compactSoon() })
    doc.eraseDeleted()
    const group: Group = { info, topic: topicOf(info.groupId), doc, persisted }
    this.groups.set(info.groupId, group)
    return group
  }
}
