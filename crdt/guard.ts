import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { InvalidUpdateError } from './errors.js'
import { isOwnId, parseLogEntry, parseMessageEvent, verifyEntry, type Entry, type LogEntry, type MessageEvent, type Verify } from './entries.js'
import type { GroupId } from './ids.js'
import type { Membership } from './membership.js'

export type MapName = 'messages' | 'log'
export const MAP_NAMES: readonly MapName[] = ['messages', 'log']

export interface Rejection {
  why: string
  /** true when no honest node could have sent it (bad shape or signature); false when it
   *  is only not allowed under what this node knows of the membership */
  forged: boolean
}

export interface GuardContext {
  groupId: GroupId
  doc: Y.Doc
  verify: Verify
  /** membership with these newly received (signature-checked) log entries folded in */
  membershipWith: (entries: LogEntry[]) => Membership
  /** whether a valid delete of this message is held */
  isDeleted: (target: string) => boolean
  /** entries stamped before this (ms) are expired under the group's retention (0: none) */
  expiresBefore: () => number
}

type DeleteSet = Map<number, Array<{ clock: number, len: number }>>

/** How far ahead of ours another node's clock may run when it erases expired messages. */
const RETENTION_SLACK_MS = 60 * 60 * 1000

export interface GuardVerdict {
  /** what to apply: the update itself, a copy without the rejected items, or null */
  update: Uint8Array | null
  rejected: Rejection[]
  /** some of it follows changes this replica lacks (or was refused for want of them) */
  gap: boolean
  /** per client in `update`: the clock its first struct starts at */
  starts: Map<number, number>
}

type Struct = Y.Item | Y.GC | Y.Skip

/** A signature an update carries: checked all at once, possibly off the main thread. */
export interface SignedItem {
  author: string
  data: Uint8Array
  signature: Uint8Array
}

/** Signatures handed over as they are found, answered in that order by `finish`. */
export interface VerifySession {
  add: (items: SignedItem[]) => void
  finish: () => Promise<boolean[]>
}

/** Starts checking a batch of signatures (see node/trust/verify-pool.ts). */
export type VerifyBatch = () => VerifySession

interface Fresh { client: number, index: number, map: MapName, key: string, entry: Entry, signed: SignedItem[] }

/** What the guard learns of an update before any signature is checked. */
interface Inspection {
  update: Uint8Array
  ds: DeleteSet
  byClient: Map<number, Struct[]>
  /** per client: the first struct refused on its shape or content, and why */
  refused: Map<number, { index: number, why: string }>
  fresh: Fresh[]
  gap: boolean
}

/**
 * Checks every item of an untrusted Yjs update before it reaches the document, so that
 * nothing forged or not allowed is ever stored. Honest writers only ever add one signed
 * JSON value under a new key of the `messages` or `log` map, at the client and clock the
 * value names; anything else is refused. A refused item is cut out together with the rest
 * of its client's items in this update (they depend on it), and the remainder is
 * re-encoded, so one bad entry relayed by an honest peer does not block everything else.
 */
export function guardUpdate (update: Uint8Array, ctx: GuardContext): GuardVerdict {
  const inspection = inspect(update, ctx)
  const signed = inspection.fresh.flatMap(f => f.signed)
  return conclude(inspection, signed.map(s => ctx.verify(s.author, s.data, s.signature)), ctx)
}

/**
 * guardUpdate, with the signatures checked as one batch (a large sync update carries
 * thousands), handed over while the update is still being read. The document may change
 * while they are checked: what is judged against it (keys already taken, membership,
 * deletes) is judged afterwards.
 */
export async function guardUpdateBatched (update: Uint8Array, ctx: GuardContext, verifyBatch: VerifyBatch): Promise<GuardVerdict> {
  const session = verifyBatch()
  const inspection = inspect(update, ctx, signed => { session.add(signed) })
  return conclude(inspection, await session.finish(), ctx)
}

/** Reads the update and checks everything but signatures; `onSigned` gets each fresh entry's, in order. */
function inspect (update: Uint8Array, ctx: GuardContext, onSigned?: (signed: SignedItem[]) => void): Inspection {
  let decoded: { structs: Struct[], ds: { clients: DeleteSet } }
  try {
    decoded = Y.decodeUpdate(update) as { structs: Struct[], ds: { clients: DeleteSet } }
  } catch (err) {
    throw new InvalidUpdateError(`cannot decode update for group ${ctx.groupId}: ${(err as Error).message}`)
  }
  const byClient = new Map<number, Struct[]>()
  for (const s of decoded.structs) {
    let list = byClient.get(s.id.client)
    if (list == null) byClient.set(s.id.client, list = [])
    list.push(s)
  }
  const refused = new Map<number, { index: number, why: string }>()
  const fresh: Fresh[] = []
  const keysInUpdate = new Set<string>()
  let gap = false
  for (const [client, structs] of byClient) {
    const known = Y.getState(ctx.doc.store, client)
    if (structs[0].id.clock > known) gap = true
    for (let i = 0; i < structs.length; i++) {
      const s = structs[i]
      if (s instanceof Y.Skip) continue
      if (s.id.clock + s.length <= known) continue
      const checked = checkItem(s, ctx, keysInUpdate)
      if (checked === 'erased') continue
      if (typeof checked === 'string') {
        refused.set(client, { index: i, why: checked })
        break
      }
      fresh.push({ client, index: i, ...checked })
      onSigned?.(checked.signed)
    }
  }
  return { update, ds: decoded.ds.clients, byClient, refused, fresh, gap }
}

function conclude (inspection: Inspection, signaturesOk: boolean[], ctx: GuardContext): GuardVerdict {
  const { update, byClient, fresh } = inspection
  let gap = inspection.gap
  /** per client: the first struct refused (on its shape or its signature) */
  const firstRefused = new Map(inspection.refused)
  let at = 0
  for (const f of fresh) {
    let ok = true
    for (let n = 0; n < f.signed.length; n++) ok &&= signaturesOk[at + n]
    at += f.signed.length
    // Taken since it was inspected (another update, while signatures were checked).
    const why = !ok
      ? `a bad signature on ${f.entry.kind} ${f.entry.id} by ${f.entry.by}`
      : Y.getState(ctx.doc.store, f.client) <= f.entry.clk && ctx.doc.getMap(f.map).has(f.key) ? 'a second entry under an existing key' : null
    if (why != null && (firstRefused.get(f.client)?.index ?? Infinity) > f.index) firstRefused.set(f.client, { index: f.index, why })
  }
  const rejected: Rejection[] = []
  /** per client: how many of its structs to keep */
  const keep = new Map<number, number>()
  for (const [client, structs] of byClient) {
    const refused = firstRefused.get(client)
    keep.set(client, refused?.index ?? structs.length)
    if (refused != null) rejected.push({ why: refused.why, forged: true })
  }
  const kept = (f: Fresh): boolean => f.index < (keep.get(f.client) as number)
  // Messages are judged against the membership including log entries in this same update
  // (a joiner's first message often travels with the entry that admitted it).
  const logEntries = fresh.filter(f => f.map === 'log' && kept(f)).map(f => f.entry as LogEntry)
  let membership: Membership | null = null
  for (const f of fresh) {
    if (f.map !== 'messages' || !kept(f)) continue
    membership ??= ctx.membershipWith(logEntries)
    const why = notAllowed(f.entry as MessageEvent, membership)
    if (why != null) {
      // Often only news of the membership has not reached us yet: ask for a sync.
      gap = true
      rejected.push({ why, forged: false })
      keep.set(f.client, f.index)
    }
  }
  // Deletions: only the erasure of messages a valid delete covers (with their edits,
  // reactions and pins). Deletes in this update count too.
  const deletedHere = new Set<string>()
  for (const f of fresh) {
    if (f.map === 'messages' && kept(f) && f.entry.kind === 'delete') deletedHere.add(f.entry.target)
  }
  let ds = inspection.ds
  if (ds.size > 0) {
    // Expired entries may be erased too; a peer whose clock runs a little ahead erases a
    // little earlier, so allow for that.
    const cutoff = ctx.expiresBefore()
    const expired = (ts: unknown): boolean => cutoff > 0 && typeof (ts as { ms?: unknown })?.ms === 'number' && (ts as { ms: number }).ms < cutoff + RETENTION_SLACK_MS
    const why = checkDeletions(ds, byClient, ctx, (target, ts) => deletedHere.has(target) || ctx.isDeleted(target) || expired(ts))
    if (why === 'unverifiable') {
      // It covers items we do not hold yet: a later sync brings them, and the deletion again.
      ds = new Map()
    } else if (why != null) {
      rejected.push({ why, forged: true })
      ds = new Map()
    }
  }
  if (rejected.length === 0 && ds === inspection.ds) return { update, rejected, gap, starts: startsOf(byClient, () => true) }
  return { update: reencode(byClient, keep, ds), rejected, gap, starts: startsOf(byClient, client => (keep.get(client) as number) > 0) }
}

function startsOf (byClient: Map<number, Struct[]>, included: (client: number) => boolean): Map<number, number> {
  const starts = new Map<number, number>()
  for (const [client, structs] of byClient) if (included(client)) starts.set(client, structs[0].id.clock)
  return starts
}

/**
 * A deletion may only erase message events whose message has a valid delete: the post,
 * its edits, reactions and pins. Membership entries, deletes and receipts are never
 * erased. Returns why not, 'unverifiable' when it covers items this node does not hold,
 * or null.
 */
function checkDeletions (ds: DeleteSet, inUpdate: Map<number, Struct[]>, ctx: GuardContext, mayErase: (target: string, ts: unknown) => boolean): string | null {
  const messages = ctx.doc.getMap('messages')
  let unverifiable = false
  for (const [client, ranges] of ds) {
    const held = ctx.doc.store.clients.get(client) ?? []
    const incoming = inUpdate.get(client) ?? []
    for (const { clock, len } of ranges) {
      for (let c = clock; c < clock + len; c++) {
        const item = findStruct(held, c) ?? findStruct(incoming, c)
        if (item == null) { unverifiable = true; continue }
        if (!(item instanceof Y.Item) || item.deleted) continue
        const key = item.parentSub
        const inMessages = item.parent === messages || (item.parent as unknown) === 'messages'
        if (!inMessages || key == null) return 'a deletion of a membership entry'
        if (item.content instanceof Y.ContentDeleted) continue
        const value = item.content instanceof Y.ContentAny ? item.content.arr[0] as { kind?: unknown, target?: unknown, ts?: unknown } | undefined : undefined
        const target = value?.kind === 'post' ? key : (value?.kind === 'edit' || value?.kind === 'react' || value?.kind === 'pin') ? value.target : undefined
        if (typeof target !== 'string') return `a deletion of a ${String(typeof value?.kind === 'string' ? value.kind : 'message')} event`
        if (!mayErase(target, value?.ts)) return `a deletion of message ${target}, which no valid delete or retention covers`
      }
    }
  }
  return unverifiable ? 'unverifiable' : null
}

/** The struct holding `clock` in a client's sorted structs (binary search), if any. */
function findStruct (structs: Struct[], clock: number): Struct | undefined {
  let lo = 0
  let hi = structs.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const s = structs[mid]
    if (clock < s.id.clock) hi = mid - 1
    else if (clock >= s.id.clock + s.length) lo = mid + 1
    else return s
  }
  return undefined
}

/**
 * An item's shape and place; its entry and the signatures it carries (checked later, all
 * at once), 'erased', or why it is refused.
 */
function checkItem (s: Y.Item | Y.GC, ctx: GuardContext, keysInUpdate: Set<string>): { map: MapName, key: string, entry: Entry, signed: SignedItem[] } | 'erased' | string {
  // What an erasure leaves: no content, nothing to show or check (see the README's limits).
  if (!(s instanceof Y.Item)) return 'erased'
  const map = s.parent as unknown
  if (map !== 'messages' && map !== 'log') return 'an item outside the group maps'
  if (s.origin != null || s.rightOrigin != null) return 'an overwrite of an existing entry'
  if (typeof s.parentSub !== 'string') return 'an item without a key'
  if (s.content instanceof Y.ContentDeleted) return map === 'messages' ? 'erased' : 'an erased membership entry'
  if (!(s.content instanceof Y.ContentAny) || s.content.arr.length !== 1) return 'an item that is not one JSON value'
  let entry: Entry
  try {
    entry = map === 'messages' ? parseMessageEvent(s.content.arr[0]) : parseLogEntry(s.content.arr[0])
  } catch (err) {
    return (err as Error).message
  }
  const key = s.parentSub
  if (map === 'messages' ? key !== entry.id : (key !== entry.id && !key.startsWith(`${entry.id}~`))) return 'an entry under the wrong key'
  if (entry.cid !== s.id.client || entry.clk !== s.id.clock) return 'an entry replayed at another place in the document'
  const mapKey = `${map}/${key}`
  if (keysInUpdate.has(mapKey) || ctx.doc.getMap(map).has(key)) return 'a second entry under an existing key'
  // Collect what verifyEntry would check; what it checks besides signatures is checked now.
  const signed: SignedItem[] = []
  const collect: Verify = (author, data, signature) => { signed.push({ author, data, signature }); return true }
  if (!verifyEntry(ctx.groupId, entry, collect)) return `a bad signature on ${entry.kind} ${entry.id} by ${entry.by}`
  keysInUpdate.add(mapKey)
  return { map, key, entry, signed }
}

function notAllowed (e: MessageEvent, membership: Membership): string | null {
  switch (e.kind) {
    case 'post':
    case 'edit':
      return membership.canPostAt(e.by, e) ? null : `a ${e.kind} by ${e.by}, who may not post (${membership.roleAt(e.by, e) ?? 'not a member'})`
    case 'delete':
      if (membership.roleAt(e.by, e) == null) return `a delete by ${e.by}, who is not a member`
      return isOwnId(e.target, e.by) || membership.canModerateAt(e.by, e) ? null : `a delete of another author's message by ${e.by}`
    case 'react':
      // Read-only members may react: it is not posting.
      return membership.roleAt(e.by, e) != null ? null : `a reaction by ${e.by}, who is not a member`
    case 'pin':
      return membership.canPostAt(e.by, e) ? null : `a pin by ${e.by}, who may not post`
    case 'read':
      return membership.roleAt(e.by, e) != null ? null : `a read receipt by ${e.by}, who is not a member`
  }
}

/** Writes the kept structs and delete set as a V1 update (Yjs's own layout). */
function reencode (byClient: Map<number, Struct[]>, keep: Map<number, number>, ds: DeleteSet): Uint8Array | null {
  const clients = [...byClient].filter(([client]) => (keep.get(client) as number) > 0)
  if (clients.length === 0 && ds.size === 0) return null
  const encoder = new Y.UpdateEncoderV1()
  encoding.writeVarUint(encoder.restEncoder, clients.length)
  for (const [client, structs] of clients) {
    const count = keep.get(client) as number
    encoding.writeVarUint(encoder.restEncoder, count)
    encoder.writeClient(client)
    encoding.writeVarUint(encoder.restEncoder, structs[0].id.clock)
    for (let i = 0; i < count; i++) structs[i].write(encoder, 0)
  }
  encoding.writeVarUint(encoder.restEncoder, ds.size)
  for (const [client, ranges] of ds) {
    encoding.writeVarUint(encoder.restEncoder, client)
    encoding.writeVarUint(encoder.restEncoder, ranges.length)
    for (const { clock, len } of ranges) {
      encoding.writeVarUint(encoder.restEncoder, clock)
      encoding.writeVarUint(encoder.restEncoder, len)
    }
  }
  return encoder.toUint8Array()
}
