import { logger } from '@libp2p/logger'
import { parseJoin, parseLogEntry, verifyEntry, type HybridClock, type RemoveEntry } from '../crdt/index.js'
import type { Group, GroupRegistry } from './groups.js'
import type { SyncGroup } from './sync.js'
import { admit, grantMissing, type Me } from './trust/actions.js'
import { verifySignature } from './trust/keys.js'

const log = logger('outpost:membership')

/** What membership upkeep needs from the node. */
export interface GroupMembershipComponents {
  groups: GroupRegistry
  me: Me
  clock: HybridClock
}

/**
 * The node's side of group membership that is not a user's action: what sync may tell and
 * take for each group (members only; joiners checked and let in; removed members told),
 * waiting to be let in after a join, and the upkeep after membership news (our join request
 * dropped, a removal notice cleared when we are let in again, keys granted to members who
 * lack them).
 */
export class GroupMembership {
  private readonly grantTimers = new Map<string, NodeJS.Timeout>()
  private running = false

  constructor (private readonly components: GroupMembershipComponents) {}

  start (): void {
    this.running = true
    for (const group of this.components.groups.list()) this.onNews(group)
  }

  stop (): void {
    this.running = false
    for (const timer of this.grantTimers.values()) clearTimeout(timer)
    this.grantTimers.clear()
  }

  /** A group as the sync service sees it. */
  syncGroup (group: Group): SyncGroup {
    const { me, clock, groups } = this.components
    return {
      groupId: group.info.groupId,
      doc: group.doc,
      isMember: peer => group.doc.membership.role(peer) != null,
      joinRequest: () => group.info.join != null && group.doc.membership.role(me.peerId) == null
        ? Buffer.from(JSON.stringify(group.info.join))
        : undefined,
      admit: (peer, bytes) => {
        let why: string | null
        try {
          why = admit(group.doc, me, peer, parseJoin(JSON.parse(Buffer.from(bytes).toString('utf8'))), clock.tick())
        } catch (err) {
          why = (err as Error).message
        }
        if (why != null) log('did not admit %s to %s: %s', peer, group.info.groupId, why)
        return why == null
      },
      expects: peer => group.info.dm === peer,
      removalOf: peer => {
        const removal = group.doc.membership.removal(peer)
        return removal == null ? undefined : Buffer.from(JSON.stringify(removal))
      },
      onRefused: (peer, proof) => {
        const removal = checkRemoval(group, me, proof)
        if (typeof removal === 'string') {
          log.error('ignored a removal notice for %s from %s: %s', group.info.groupId, peer, removal)
          return
        }
        if (group.info.removed?.entry === removal.id) return
        log('%s says this node was removed from %s by %s', peer, group.info.groupId, removal.by)
        groups.setRemoved(group.info.groupId, { entry: removal.id, by: removal.by, at: removal.ts.ms, reportedBy: peer })
          .catch(err => { log.error('cannot save removal: %s', (err as Error).message) })
      }
    }
  }

  /** Resolves true once a member has let us in and handed us the key, false after `ms`. */
  async admission (group: Group, ms: number): Promise<boolean> {
    const self = this.components.me.peerId
    const ready = (): boolean => group.doc.membership.role(self) != null && group.doc.currentKey() != null
    if (ready() || ms <= 0) return ready()
    return await new Promise(resolve => {
      const done = (value: boolean): void => {
        clearTimeout(timer)
        off()
        resolve(value)
      }
      const off = group.doc.onMembership(() => { if (ready()) done(true) })
      const timer = setTimeout(() => { done(ready()) }, ms)
    })
  }

  /**
   * After membership news: drop our join request once we are in, forget a removal we were
   * told of once we are let in again, and hand keys to members who lack one (owners and
   * admins do; a short random delay lets one of them go first).
   */
  onNews (group: Group): void {
    const { groups, me, clock } = this.components
    const role = group.doc.membership.role(me.peerId)
    const removed = group.info.removed
    if (removed != null && role != null && group.doc.membership.valid.some(e => e.id === removed.entry)) {
      groups.setRemoved(group.info.groupId, null).catch(err => { log.error('cannot save membership: %s', (err as Error).message) })
    }
    if (role != null && group.info.join != null) groups.admitted(group.info.groupId).catch(err => { log.error('cannot save admission: %s', (err as Error).message) })
    if (!this.running || (role !== 'owner' && role !== 'admin')) return
    const id = group.info.groupId
    if (this.grantTimers.has(id)) return
    const timer = setTimeout(() => {
      this.grantTimers.delete(id)
      if (!this.running) return
      try {
        if (grantMissing(group.doc, me, clock.tick()).length > 0) log('granted missing keys in %s', id)
      } catch (err) {
        log.error('cannot grant keys in %s: %s', id, (err as Error).message)
      }
    }, 200 + Math.floor(Math.random() * 800))
    timer.unref()
    this.grantTimers.set(id, timer)
  }
}

/** A removal notice is believed only if it is a valid removal of us by someone who could. */
function checkRemoval (group: Group, me: Me, proof: Uint8Array): RemoveEntry | string {
  let entry
  try {
    entry = parseLogEntry(JSON.parse(Buffer.from(proof).toString('utf8')))
  } catch (err) {
    return (err as Error).message
  }
  if (entry.kind !== 'remove' || entry.target !== me.peerId) return 'not a removal of this node'
  if (!verifyEntry(group.info.groupId, entry, verifySignature)) return 'a bad signature'
  if (!group.doc.membership.canModerateAt(entry.by, entry)) return `${entry.by} could not remove members then, as far as this node knows`
  return entry
}
