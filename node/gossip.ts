import { logger } from '@libp2p/logger'
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { FaultInjector } from './fault-injector.js'
import type { FloodGuard } from './flood-guard.js'
import type { Group } from './groups.js'
import { scoreTopic } from './host.js'
import { open, seal } from './trust/keys.js'
import { decodeGossip, encodeGossip, gossipAad } from './wire/gossip-codec.js'

const log = logger('outpost:gossip')

export interface GossipComponents {
  pubsub: GossipSub
  /** the group a received envelope names, if this node belongs to it */
  group: (groupId: string) => Group | undefined
  /** an update arrived that depends on changes we lack: sync with whoever sent it */
  onGap: (from: PeerId) => void
  /** send updates unsealed and accept unsealed ones (only to measure what sealing costs) */
  insecure?: boolean
  /** per-peer budgets: over budget is throttled, invalid input counts against the peer */
  guard?: Pick<FloodGuard, 'admitGossip' | 'rejected'>
  /** an opened signal (typing, presence) arrived; false when it is not valid */
  onSignal?: (group: Group, payload: Uint8Array) => boolean
  /** the mesh lab's delay, loss and bandwidth on received gossip (nodes started with --lab) */
  faults?: FaultInjector
}

export interface GossipStats {
  published: number
  /** updates applied (each message once) */
  received: number
  /** signals (typing, presence) accepted */
  signals: number
  /** every copy gossipsub received, duplicates and signals included */
  copiesReceived: number
  rejected: number
  /** sealed with a key this node does not hold (yet, or any more) */
  unreadable: number
}

/**
 * Publishes each local change of a group's document on the group's topic, and applies what
 * arrives on the topics of our groups. Gossip is the fast path; sync repairs what it drops.
 */
export class GossipService {
  readonly stats: GossipStats = { published: 0, received: 0, signals: 0, copiesReceived: 0, rejected: 0, unreadable: 0 }
  private readonly detach = new Map<string, () => void>()
  private started = false

  constructor (private readonly components: GossipComponents) {}

  /** the lab's faults on this node, when it accepts them */
  get faults (): FaultInjector | undefined { return this.components.faults }

  start (groups: Group[]): void {
    if (this.started) return
    this.started = true
    for (const group of groups) this.addGroup(group)
  }

  stop (): void {
    if (!this.started) return
    this.started = false
    for (const [topic, off] of this.detach) {
      off()
      this.components.pubsub.unsubscribe(topic)
    }
    this.detach.clear()
  }

  /** Subscribe to a group's topic and publish its local changes from now on. */
  addGroup (group: Group): void {
    if (!this.started || this.detach.has(group.topic)) return
    const stopPublishing = group.doc.onUpdate((update, origin) => {
      if (origin === 'local') this.publish(group, update)
    })
    // Applying in the validator means a bad envelope is rejected before gossipsub relays it,
    // and counts against the sender's score.
    const faults = this.components.faults
    this.components.pubsub.topicValidators.set(group.topic, faults == null
      ? (peer, msg) => this.receive(peer, msg)
      // A dropped message is ignored, not relayed: as if the wire had lost it.
      : async (peer, msg) => faults.active && !(await faults.admit(msg.data.length)) ? TopicValidatorResult.Ignore : this.receive(peer, msg))
    this.detach.set(group.topic, () => {
      stopPublishing()
      this.components.pubsub.topicValidators.delete(group.topic)
    })
    scoreTopic(this.components.pubsub, group.topic)
    this.components.pubsub.subscribe(group.topic)
  }

  /** Publishes an ephemeral signal (typing, presence) to a group's members, sealed. */
  publishSignal (group: Group, payload: Uint8Array): void {
    if (!this.started) return
    const key = group.doc.currentKey()
    if (key == null) return
    const data = encodeGossip({ type: 'signal', groupId: group.info.groupId, keyId: key.keyId, sealed: seal(key.key, payload, gossipAad(group.info.groupId, key.keyId, 'signal')) })
    this.components.pubsub.publish(group.topic, data).catch(err => { log('signal on %s not sent: %s', group.topic, (err as Error).message) })
  }

  private publish (group: Group, update: Uint8Array): void {
    const groupId = group.info.groupId
    let data: Uint8Array
    if (this.components.insecure === true) {
      data = encodeGossip({ type: 'update', groupId, keyId: '', sealed: update })
    } else {
      const key = group.doc.publishKey()
      if (key == null) {
        log('no key to seal a change of %s with; sync will deliver it', groupId)
        return
      }
      data = encodeGossip({ type: 'update', groupId, keyId: key.keyId, sealed: seal(key.key, update, gossipAad(groupId, key.keyId)) })
    }
    this.stats.published++
    this.components.pubsub.publish(group.topic, data).catch(err => {
      // Not fatal: the change is stored, and sync delivers it to peers that missed it.
      log('publish on %s failed: %s', group.topic, (err as Error).message)
    })
  }

  /** Untrusted input from the network: validate, apply, and never throw. */
  private receive (propagationSource: PeerId, msg: Message): TopicValidatorResult {
    if (this.components.guard?.admitGossip(propagationSource, msg.data.length) === false) return TopicValidatorResult.Ignore
    try {
      const envelope = decodeGossip(msg.data)
      const group = this.components.group(envelope.groupId)
      if (group == null || group.topic !== msg.topic) {
        throw new Error(`envelope for group ${envelope.groupId} on topic ${msg.topic}`)
      }
      let update: Uint8Array | null
      if (envelope.keyId === '') {
        if (this.components.insecure !== true) throw new Error('an unsealed update')
        update = envelope.sealed
      } else {
        const key = group.doc.keyFor(envelope.keyId)
        if (key == null) {
          // Not ours to read (a removed node), or a key whose grant has not reached us yet.
          this.stats.unreadable++
          this.components.onGap(propagationSource)
          return TopicValidatorResult.Ignore
        }
        update = open(key, envelope.sealed, gossipAad(group.info.groupId, envelope.keyId, envelope.type))
        if (update == null) throw new Error(`an update that does not open with key ${envelope.keyId}`)
      }
      if (envelope.type === 'signal') {
        if (this.components.onSignal?.(group, update) === false) throw new Error('an invalid signal')
        this.stats.signals++
        return TopicValidatorResult.Accept
      }
      const { missingDependencies, rejected } = group.doc.applyUpdate(update, 'remote')
      if (missingDependencies) this.components.onGap(propagationSource)
      if (rejected.length > 0) {
        this.stats.rejected++
        for (const r of rejected) log.error('rejected an entry of group %s from %p: %s', group.info.groupId, propagationSource, r.why)
        // Forged content counts against the sender; content only not allowed as far as we
        // know (membership news still on its way) is just not relayed.
        return rejected.some(r => r.forged) ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
      }
      this.stats.received++
      return TopicValidatorResult.Accept
    } catch (err) {
      this.stats.rejected++
      this.components.guard?.rejected(propagationSource)
      log.error('dropped gossip from %p: %s', propagationSource, (err as Error).message)
      return TopicValidatorResult.Reject
    }
  }
}
