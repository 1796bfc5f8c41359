import { EventEmitter } from 'node:events'
import { logger } from '@libp2p/logger'
import { shown, signingBytes, type GroupId } from '../crdt/index.js'
import type { Group } from './groups.js'
import type { Me } from './trust/actions.js'
import { verifySignature } from './trust/keys.js'

const log = logger('outpost:presence')

export type PresenceState = 'online' | 'away' | 'offline'
const STATES: readonly PresenceState[] = ['online', 'away', 'offline']

/**
 * An ephemeral signal on a group's topic: "typing" or a presence heartbeat. Signed by its
 * sender (nobody types in someone else's name), sealed with the group key like every
 * gossip payload, never stored. Old or future signals are ignored, so a replay says nothing.
 */
interface Signal {
  v: 2
  kind: 'typing' | 'presence'
  by: string
  /** ms since the epoch when it was sent */
  at: number
  state?: PresenceState
  sig: string
}

/**
 * How often a node says it is there when nothing changed (a change is said at once).
 * Every heartbeat is a gossip message to every member of every group: at 20 s it was most
 * of an idle node's CPU among 20 (1.76% a node, 0.99% without; `node dist/test/bench/run.js
 * --only idle`). A minute is enough for "last seen".
 */
export const PRESENCE_HEARTBEAT_MS = 60_000

export interface PresenceInit {
  /** how often a node says it is there (default PRESENCE_HEARTBEAT_MS) */
  heartbeatMs?: number
  /** how long "typing" lasts without news (default 5 s) */
  typingMs?: number
}

export interface MemberPresence {
  state: PresenceState
  /** ms since the epoch of the last signal (or connection) from the member */
  lastSeen?: number
  typing: boolean
}

export interface PresenceComponents {
  me: Me
  groups: () => Group[]
  group: (groupId: string) => Group | undefined
  publish: (group: Group, payload: Uint8Array) => void
  /** whether we have a connection to the peer now */
  connected: (peerId: string) => boolean
}

/** Signals further than this from our clock are ignored (replays, broken clocks). */
const MAX_SIGNAL_SKEW_MS = 60_000
const MAX_SIGNAL_BYTES = 1024

/**
 * Typing indicators and presence (online, away, offline, last seen), carried on ephemeral
 * gossip, not in history. Emits 'typing' ({groupId, peerId}) and 'presence' ({peerId, state}).
 */
export class PresenceService extends EventEmitter {
  private readonly heartbeatMs: number
  private readonly typingMs: number
  private state: PresenceState = 'online'
  private timer: NodeJS.Timeout | null = null
  /** peer -> last presence signal */
  private readonly seen = new Map<string, { state: PresenceState, at: number }>()
  /** `${groupId}\n${peer}` -> typing until (ms) */
  private readonly typingUntil = new Map<string, number>()
  /** groupId -> when we last said we were typing there */
  private readonly lastTyping = new Map<string, number>()

  constructor (private readonly components: PresenceComponents, init: PresenceInit = {}) {
    super()
    this.heartbeatMs = init.heartbeatMs ?? PRESENCE_HEARTBEAT_MS
    this.typingMs = init.typingMs ?? 5_000
  }

  start (): void {
    if (this.timer != null) return
    this.timer = setInterval(() => { this.announce() }, this.heartbeatMs)
    this.timer.unref()
    this.announce()
  }

  /** Says "offline" to every group (best effort) and stops. */
  stop (): void {
    if (this.timer == null) return
    clearInterval(this.timer)
    this.timer = null
    this.state = 'offline'
    this.announce()
  }

  setAway (away: boolean): void {
    this.state = away ? 'away' : 'online'
    this.announce()
  }

  /** Tells a group's members this node's user is typing (at most once a second). */
  typing (groupId: GroupId): void {
    const group = this.components.group(groupId)
    if (group == null) return
    const now = Date.now()
    if (now - (this.lastTyping.get(groupId) ?? 0) < 1_000) return
    this.lastTyping.set(groupId, now)
    this.components.publish(group, this.signal(groupId, 'typing'))
  }

  /** Every member of a group with presence; this node's own state for itself. */
  presence (group: Group): Map<string, MemberPresence> {
    const now = Date.now()
    const out = new Map<string, MemberPresence>()
    for (const peerId of group.doc.membership.members.keys()) {
      if (peerId === this.components.me.peerId) {
        out.set(peerId, { state: this.state, lastSeen: now, typing: false })
        continue
      }
      const seen = this.seen.get(peerId)
      // Connected: alive, in the state it last said (for three heartbeats). Not connected (a
      // crash, a cut, or reachable only through others): offline once a heartbeat and a half
      // passes without word.
      const connected = this.components.connected(peerId)
      const fresh = seen != null && now - seen.at < (connected ? 3 : 1.5) * this.heartbeatMs
      const state: PresenceState = fresh ? seen.state : connected ? 'online' : 'offline'
      const typing = (this.typingUntil.get(`${group.info.groupId}\n${peerId}`) ?? 0) > now
      out.set(peerId, { state, ...(seen != null ? { lastSeen: seen.at } : {}), typing })
    }
    return out
  }

  /** A signal opened from a group's topic; false when it is not valid (bad, forged, stale). */
  receive (group: Group, payload: Uint8Array): boolean {
    const signal = this.parse(group.info.groupId, payload)
    if (typeof signal === 'string') {
      log.error('dropped a signal on %s: %s', group.info.groupId, signal)
      return signal === 'stale'
    }
    if (signal.by === this.components.me.peerId) return true
    if (group.doc.membership.role(signal.by) == null) return false
    if (signal.kind === 'typing') {
      this.typingUntil.set(`${group.info.groupId}\n${signal.by}`, signal.at + this.typingMs)
      this.emit('typing', { groupId: group.info.groupId, peerId: signal.by })
      return true
    }
    const before = this.seen.get(signal.by)
    if (before != null && before.at >= signal.at) return true
    this.seen.set(signal.by, { state: signal.state ?? 'online', at: signal.at })
    if (before?.state !== signal.state) this.emit('presence', { peerId: signal.by, state: signal.state })
    return true
  }

  private announce (): void {
    for (const group of this.components.groups()) {
      if (group.doc.membership.role(this.components.me.peerId) == null) continue
      this.components.publish(group, this.signal(group.info.groupId, 'presence'))
    }
  }

  private signal (groupId: string, kind: Signal['kind']): Uint8Array {
    const unsigned = { v: 2 as const, kind, by: this.components.me.peerId, at: Date.now(), ...(kind === 'presence' ? { state: this.state } : {}) }
    const sig = Buffer.from(this.components.me.sign(signingBytes(groupId, 'signal', unsigned))).toString('base64')
    return Buffer.from(JSON.stringify({ ...unsigned, sig }))
  }

  /** The signal, 'stale' for one too far from our clock, or why it is not valid. */
  private parse (groupId: string, payload: Uint8Array): Signal | string {
    if (payload.length > MAX_SIGNAL_BYTES) return 'too large'
    let s: Record<string, unknown>
    try {
      s = JSON.parse(Buffer.from(payload).toString('utf8'))
    } catch {
      return 'garbled'
    }
    if (s == null || typeof s !== 'object' || s.v !== 2) return 'not a signal'
    if (s.kind !== 'typing' && s.kind !== 'presence') return `unknown kind ${shown(s.kind)}`
    if (typeof s.by !== 'string' || typeof s.sig !== 'string' || !Number.isSafeInteger(s.at)) return 'missing fields'
    if (s.kind === 'presence' && !STATES.includes(s.state as PresenceState)) return 'bad state'
    if (!verifySignature(s.by, signingBytes(groupId, 'signal', s), Buffer.from(s.sig, 'base64'))) return 'a bad signature'
    if (Math.abs(Date.now() - (s.at as number)) > MAX_SIGNAL_SKEW_MS) return 'stale'
    return s as unknown as Signal
  }
}
