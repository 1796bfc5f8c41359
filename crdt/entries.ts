import { createHash } from 'node:crypto'
import { InvalidMessageError } from './errors.js'
import { compareTimestamps, isTimestamp, type Timestamp } from './hlc.js'
import { isGroupId, isMessageId, randomHex, type GroupId, type MessageId } from './ids.js'

/**
 * Everything stored in a group document is a signed entry, written once under its own key
 * and never overwritten, so that a Yjs update can be checked item by item before it is
 * applied (see guard.ts). Two kinds live in two maps:
 * - message events (`messages` map): post, edit, delete;
 * - membership entries (`log` map): create, admit, role, remove, rotate, grant.
 *
 * Every entry names the Yjs client and clock it was written at (`cid`, `clk`) and is
 * signed by its author (`by`, a PeerId) over the group id and every other field. Binding
 * the position means a signed entry cannot be replayed elsewhere in the document, and a
 * peer cannot occupy another author's client range with content of its own.
 */

/** Text longer than this (in UTF-8 bytes) is refused on send and ignored on receipt. */
export const MAX_TEXT_BYTES = 64 * 1024
export const MAX_NAME_LENGTH = 128
const MAX_PEER_ID_LENGTH = 128
/** A post's body: its text, and a file's description with a thumbnail (base64) and headers. */
const MAX_SEALED_BYTES = MAX_TEXT_BYTES + 48 * 1024
/** AES-GCM nonce and tag around a sealed body. */
const MIN_SEALED_BYTES = 28
const MAX_WRAPS = 4096
const MAX_WRAP_CHARS = 256
const MAX_SIG_CHARS = 128

export const ROLES = ['owner', 'admin', 'member', 'read-only'] as const
export type Role = typeof ROLES[number]
export const isRole = (value: unknown): value is Role => ROLES.includes(value as Role)

interface Signed {
  readonly v: 2
  /** this entry's id: for message events, author-bound (see newEventId) */
  readonly id: string
  /** the author's PeerId */
  readonly by: string
  readonly ts: Timestamp
  /** Yjs client id and clock of the item that holds this entry */
  readonly cid: number
  readonly clk: number
  /** base64 Ed25519 signature over signingBytes(groupId, entry) */
  readonly sig: string
}

/**
 * A message: the body is sealed with a group key (keyId), so only members read it. Bytes,
 * not base64: Yjs stores binary as is (measured: encoding the base64 string was 10% of a send).
 */
export interface PostEvent extends Signed { readonly kind: 'post', readonly key: string, readonly body: Uint8Array }
/** New text for one of the author's own posts. */
export interface EditEvent extends Signed { readonly kind: 'edit', readonly target: MessageId, readonly key: string, readonly body: Uint8Array }
/** Hides a post: by its author, or by an admin. */
/**
 * Deletes a message: by its author, or by an owner or admin. Every node that holds it then
 * erases the post with its edits, reactions and pins; the author and time of the post stay
 * here, so the place in the conversation can still say "deleted".
 */
export interface DeleteEvent extends Signed { readonly kind: 'delete', readonly target: MessageId, readonly targetBy?: string, readonly targetTs?: Timestamp }
/**
 * Adds or takes back one person's reaction to a message; the body (sealed) holds
 * {emoji, on}. Per (person, message, emoji) the latest event wins.
 */
export interface ReactEvent extends Signed { readonly kind: 'react', readonly target: MessageId, readonly key: string, readonly body: Uint8Array }
/** Pins (`on`) or unpins a message for the group; the latest event per message wins. */
export interface PinEvent extends Signed { readonly kind: 'pin', readonly target: MessageId, readonly on: boolean }
/** "I have seen the conversation up to this message": the latest one per member counts. */
export interface ReadEvent extends Signed { readonly kind: 'read', readonly target: MessageId }
export type MessageEvent = PostEvent | EditEvent | DeleteEvent | ReactEvent | PinEvent | ReadEvent

/** What a reaction's sealed body holds. */
export interface ReactionBody { emoji: string, on: boolean }
/** One emoji, possibly with modifiers and joiners (a grapheme or two), not a sentence. */
export const MAX_EMOJI_LENGTH = 32

/** What a post's sealed body holds; a post with a file may have empty text (no caption). */
export interface PostBody { text: string, name: string, replyTo?: MessageId, mentions?: string[], file?: FileRef }

/** A thumbnail raw (before base64) is at most this large, so that it rides in the post. */
export const MAX_THUMBNAIL_BYTES = 24 * 1024
export const MAX_FILE_NAME_LENGTH = 255

/**
 * A file attached to a post. The file's bytes travel apart, as chunks sealed with `key`
 * (node/files): `id` is the SHA-256 of the file's manifest (its size, chunk size and each
 * sealed chunk's SHA-256), so every chunk is checked against it on arrival; `sha256` is the
 * whole plain file's, checked before the file is offered. The key and the thumbnail are
 * sealed with the group key like the rest of the body.
 */
export interface FileRef {
  readonly id: string
  readonly name: string
  readonly size: number
  readonly mime: string
  readonly sha256: string
  /** base64 of the 32-byte key the file's chunks are sealed with */
  readonly key: string
  readonly thumb?: { readonly mime: string, readonly width: number, readonly height: number, readonly data: string }
}

/** An admin's signed permission to join, carried inside an invite. */
export interface SignedInvite {
  readonly v: 2
  readonly group: GroupId
  readonly name: string
  readonly by: string
  readonly role: Exclude<Role, 'owner'>
  /** ms since the epoch after which no member admits with it */
  readonly expires: number
  /** made for this PeerId only; absent: anyone holding the invite may join */
  readonly for?: string
  readonly nonce: string
  readonly sig: string
}

/** A joiner's signed request, carrying the invite and the joiner's key-exchange key. */
export interface JoinRequest {
  readonly v: 2
  readonly group: GroupId
  readonly by: string
  readonly ts: Timestamp
  /** base64 X25519 public key group keys are wrapped to */
  readonly box: string
  readonly invite: SignedInvite
  readonly sig: string
}

/** keyId (or member PeerId, in create/remove/rotate) → wrapped 32-byte group key */
export type Wraps = Readonly<Record<string, string>>

/** Rules the creator sets for the group's lifetime (signed in the `create` entry). */
export interface GroupPolicy {
  /** message deletions go into the audit trail too */
  readonly auditDeletes?: boolean
}

/** The group's first entry; its id is the first group key's id, and it proves the group id. */
export interface CreateEntry extends Signed {
  readonly kind: 'create'
  readonly name: string
  readonly nonce: string
  readonly box: string
  readonly wraps: Wraps
  readonly policy?: GroupPolicy
  /** a direct message: the other person, a member from the start, and their box key */
  readonly dm?: { readonly peer: string, readonly box: string }
}
/** A member let a joiner in (the join request proves the invite) and handed it the keys. */
export interface AdmitEntry extends Signed { readonly kind: 'admit', readonly join: JoinRequest, readonly wraps: Wraps }
export interface RoleEntry extends Signed { readonly kind: 'role', readonly target: string, readonly role: Exclude<Role, 'owner'> }
/** Removes a member and rotates the key: wraps go to every remaining member. */
export interface RemoveEntry extends Signed { readonly kind: 'remove', readonly target: string, readonly wraps: Wraps }
export interface RotateEntry extends Signed { readonly kind: 'rotate', readonly wraps: Wraps }
/** Gives keys (keyId → wrap) to a member who lacks them. */
export interface GrantEntry extends Signed { readonly kind: 'grant', readonly to: string, readonly wraps: Wraps }
/** How long messages are kept (owners and admins); 0 keeps them forever. The latest wins. */
export interface RetentionEntry extends Signed { readonly kind: 'retention', readonly seconds: number }
export type LogEntry = CreateEntry | AdmitEntry | RoleEntry | RemoveEntry | RotateEntry | GrantEntry | RetentionEntry

/** A retention longer than this is "forever" in all but name (100 years). */
export const MAX_RETENTION_SECONDS = 100 * 365 * 24 * 3600

export type Entry = MessageEvent | LogEntry
/** An entry before it is placed and signed. */
export type Unsigned<E> = E extends Signed ? Omit<E, 'cid' | 'clk' | 'sig' | 'v'> : never

/** A value from untrusted input, safe to put in a message (String() can throw on objects). */
export function shown (value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : value === null ? 'null' : typeof value
}

function fail (why: string): never {
  throw new InvalidMessageError(`invalid entry: ${why}`)
}

const tags = new Map<string, string>()
const MAX_CACHED_TAGS = 10_000

/** The first 8 hex characters of every id an author creates name the author. */
export function authorTag (peerId: string): string {
  let tag = tags.get(peerId)
  if (tag === undefined) {
    tag = createHash('sha256').update(peerId).digest('hex').slice(0, 8)
    // Checked on every received event: worth remembering for a team's authors.
    if (tags.size >= MAX_CACHED_TAGS) tags.clear()
    tags.set(peerId, tag)
  }
  return tag
}

/** An event id bound to its author: a post cannot be edited by someone else in disguise. */
export function newEventId (author: string): MessageId {
  return (authorTag(author) + randomHex(8)) as MessageId
}

export function isOwnId (id: string, author: string): boolean {
  return id.startsWith(authorTag(author))
}

/** A group id is bound to its creator, so no one else can write a valid `create`. */
export function groupIdFor (creator: string, nonce: string): GroupId {
  return createHash('sha256').update(`${creator}\n${nonce}`).digest('hex').slice(0, 32) as GroupId
}

/** The one direct-message group two people share: its id comes from the pair alone. */
export function dmGroupId (a: string, b: string): GroupId {
  const [x, y] = a < b ? [a, b] : [b, a]
  return createHash('sha256').update(`outpost/dm/2\n${x}\n${y}`).digest('hex').slice(0, 32) as GroupId
}

/** Deterministic JSON: object keys sorted at every level; bytes as {"$b64": "..."}. */
export function canonicalJson (value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (value instanceof Uint8Array) return `{"$b64":"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}"}`
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const obj = value as Record<string, unknown>
  return `{${Object.keys(obj).filter(k => obj[k] !== undefined).sort().map(k => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`
}

/** What a signature covers: a domain tag, the group id and every field but `sig`. */
export function signingBytes (groupId: string, what: 'entry' | 'invite' | 'join' | 'signal', value: object): Buffer {
  const { sig: _sig, ...rest } = value as { sig?: unknown }
  return Buffer.from(`outpost/${what}/2\n${groupId}\n${canonicalJson(rest)}`)
}

/** Checks a signature; injected so this folder stays free of key formats. */
export type Verify = (author: string, data: Uint8Array, signature: Uint8Array) => boolean

const isShortString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max
const B64 = /^[A-Za-z0-9+/]+={0,2}$/
const isB64 = (v: unknown, max: number): v is string => isShortString(v, max) && B64.test(v)
/** Sealed bodies: a length check here; a garbled one fails to open (AEAD). */
const isSealed = (v: unknown): v is Uint8Array => v instanceof Uint8Array && v.length >= MIN_SEALED_BYTES && v.length <= MAX_SEALED_BYTES
const isEntryId = (v: unknown): v is string => isMessageId(v)

function checkWraps (w: unknown, keys: 'peer' | 'keyId'): void {
  if (w == null || typeof w !== 'object' || Array.isArray(w)) fail('bad wraps')
  const entries = Object.entries(w)
  if (entries.length > MAX_WRAPS) fail('too many wraps')
  for (const [k, v] of entries) {
    if (keys === 'peer' ? !isShortString(k, MAX_PEER_ID_LENGTH) : !isEntryId(k)) fail('bad wrap key')
    if (!isB64(v, MAX_WRAP_CHARS)) fail('bad wrap')
  }
}

function checkSigned (e: Record<string, unknown>): void {
  if (e.v !== 2) fail(`unsupported version ${shown(e.v)}`)
  if (!isEntryId(e.id)) fail('bad id')
  if (!isShortString(e.by, MAX_PEER_ID_LENGTH)) fail('bad author')
  if (!isTimestamp(e.ts)) fail('bad timestamp')
  if (!Number.isSafeInteger(e.cid) || (e.cid as number) < 0 || (e.cid as number) > 0xffffffff) fail('bad client id')
  if (!Number.isSafeInteger(e.clk) || (e.clk as number) < 0) fail('bad clock')
  if (!isB64(e.sig, MAX_SIG_CHARS)) fail('bad signature field')
}

function asObject (value: unknown): Record<string, unknown> {
  if (value == null || typeof value !== 'object' || Array.isArray(value)) fail('not an object')
  return value as Record<string, unknown>
}

/** Shape of an untrusted message event (signature not checked here). */
export function parseMessageEvent (value: unknown): MessageEvent {
  const e = asObject(value)
  checkSigned(e)
  switch (e.kind) {
    case 'post':
      if (!isOwnId(e.id as string, e.by as string)) fail('post id not bound to its author')
      break
    case 'edit':
      if (!isMessageId(e.target)) fail('bad target')
      // Ids carry their author's tag: an edit of someone else's post is refused on sight.
      if (!isOwnId(e.target, e.by as string)) fail('an edit of another author\'s message')
      break
    case 'delete':
      if (!isMessageId(e.target)) fail('bad target')
      if (e.targetBy !== undefined && (!isShortString(e.targetBy, MAX_PEER_ID_LENGTH) || !isOwnId(e.target, e.targetBy))) fail('bad deleted author')
      if (e.targetTs !== undefined && !isTimestamp(e.targetTs)) fail('bad deleted timestamp')
      break
    case 'react':
    case 'read':
      if (!isMessageId(e.target)) fail('bad target')
      break
    case 'pin':
      if (!isMessageId(e.target)) fail('bad target')
      if (typeof e.on !== 'boolean') fail('bad pin flag')
      break
    default:
      fail(`unknown kind ${shown(e.kind)}`)
  }
  if (e.kind !== 'delete' && e.kind !== 'pin' && e.kind !== 'read') {
    if (!isEntryId(e.key)) fail('bad key id')
    if (!isSealed(e.body)) fail('bad body')
  }
  return e as unknown as MessageEvent
}

export function parseInvite (value: unknown): SignedInvite {
  const i = asObject(value)
  if (i.v !== 2) fail('unsupported invite version')
  if (!isGroupId(i.group)) fail('bad invite group')
  if (!isShortString(i.name, MAX_NAME_LENGTH)) fail('bad invite name')
  if (!isShortString(i.by, MAX_PEER_ID_LENGTH)) fail('bad inviter')
  if (!isRole(i.role) || i.role === 'owner') fail('bad invite role')
  if (!Number.isSafeInteger(i.expires)) fail('bad expiry')
  if (!isShortString(i.nonce, 64)) fail('bad nonce')
  if (i.for !== undefined && !isShortString(i.for, MAX_PEER_ID_LENGTH)) fail('bad invitee')
  if (!isB64(i.sig, MAX_SIG_CHARS)) fail('bad invite signature field')
  return i as unknown as SignedInvite
}

export function parseJoin (value: unknown): JoinRequest {
  const j = asObject(value)
  if (j.v !== 2) fail('unsupported join version')
  if (!isGroupId(j.group)) fail('bad join group')
  if (!isShortString(j.by, MAX_PEER_ID_LENGTH)) fail('bad joiner')
  if (!isTimestamp(j.ts)) fail('bad join timestamp')
  if (!isB64(j.box, 64)) fail('bad box key')
  parseInvite(j.invite)
  if ((j.invite as SignedInvite).group !== j.group) fail('invite for another group')
  if (!isB64(j.sig, MAX_SIG_CHARS)) fail('bad join signature field')
  return j as unknown as JoinRequest
}

/** Shape of an untrusted membership entry (signatures not checked here). */
export function parseLogEntry (value: unknown): LogEntry {
  const e = asObject(value)
  checkSigned(e)
  switch (e.kind) {
    case 'create':
      if (!isShortString(e.name, MAX_NAME_LENGTH)) fail('bad group name')
      if (!isShortString(e.nonce, 64)) fail('bad nonce')
      if (!isB64(e.box, 64)) fail('bad box key')
      checkWraps(e.wraps, 'peer')
      if (e.dm !== undefined) {
        const dm = asObject(e.dm)
        if (!isShortString(dm.peer, MAX_PEER_ID_LENGTH) || dm.peer === e.by) fail('bad direct-message peer')
        if (!isB64(dm.box, 64)) fail('bad direct-message box key')
      }
      if (e.policy !== undefined) {
        const policy = asObject(e.policy)
        if (policy.auditDeletes !== undefined && typeof policy.auditDeletes !== 'boolean') fail('bad policy')
      }
      break
    case 'admit':
      parseJoin(e.join)
      checkWraps(e.wraps, 'keyId')
      break
    case 'role':
      if (!isShortString(e.target, MAX_PEER_ID_LENGTH)) fail('bad target')
      if (!isRole(e.role) || e.role === 'owner') fail('bad role')
      break
    case 'remove':
      if (!isShortString(e.target, MAX_PEER_ID_LENGTH)) fail('bad target')
      checkWraps(e.wraps, 'peer')
      if (Object.hasOwn(e.wraps as object, e.target as string)) fail('a removal that hands the new key to the removed member')
      break
    case 'rotate':
      checkWraps(e.wraps, 'peer')
      break
    case 'grant':
      if (!isShortString(e.to, MAX_PEER_ID_LENGTH)) fail('bad grantee')
      checkWraps(e.wraps, 'keyId')
      break
    case 'retention':
      if (!Number.isSafeInteger(e.seconds) || (e.seconds as number) < 0 || (e.seconds as number) > MAX_RETENTION_SECONDS) fail('bad retention')
      break
    default:
      fail(`unknown kind ${shown(e.kind)}`)
  }
  return e as unknown as LogEntry
}

/** Checks every signature an entry carries (a join request and its invite included). */
export function verifyEntry (groupId: GroupId, entry: Entry, verify: Verify): boolean {
  if (!verify(entry.by, signingBytes(groupId, 'entry', entry), Buffer.from(entry.sig, 'base64'))) return false
  if (entry.kind === 'admit') return verifyJoin(groupId, entry.join, verify)
  if (entry.kind === 'create') return entry.dm != null ? dmGroupId(entry.by, entry.dm.peer) === groupId : groupIdFor(entry.by, entry.nonce) === groupId
  return true
}

export function verifyJoin (groupId: GroupId, join: JoinRequest, verify: Verify): boolean {
  return join.group === groupId &&
    verify(join.by, signingBytes(groupId, 'join', join), Buffer.from(join.sig, 'base64')) &&
    verifyInvite(join.invite, verify)
}

export function verifyInvite (invite: SignedInvite, verify: Verify): boolean {
  return verify(invite.by, signingBytes(invite.group, 'invite', invite), Buffer.from(invite.sig, 'base64'))
}

/** One order for entries on every replica: (timestamp, author, id). */
export function compareEntries (a: { ts: Timestamp, by: string, id: string }, b: { ts: Timestamp, by: string, id: string }): number {
  const byTime = compareTimestamps(a.ts, b.ts)
  if (byTime !== 0) return byTime
  if (a.by !== b.by) return a.by < b.by ? -1 : 1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** Additional data bound into a sealed body: which group, entry and key it belongs to. */
export function bodyAad (groupId: GroupId, entryId: string, keyId: string): Buffer {
  return Buffer.from(`outpost/body/2\n${groupId}\n${entryId}\n${keyId}`)
}

export function parseReactionBody (bytes: Uint8Array): ReactionBody {
  let b: Record<string, unknown>
  try {
    b = asObject(JSON.parse(Buffer.from(bytes).toString('utf8')))
  } catch {
    return fail('garbled reaction')
  }
  if (!isShortString(b.emoji, MAX_EMOJI_LENGTH) || /\s/.test(b.emoji)) fail('bad emoji')
  if (typeof b.on !== 'boolean') fail('bad reaction flag')
  return b as unknown as ReactionBody
}

export function parsePostBody (bytes: Uint8Array): PostBody {
  let b: Record<string, unknown>
  try {
    b = asObject(JSON.parse(Buffer.from(bytes).toString('utf8')))
  } catch (err) {
    if ((err as Error).name === InvalidMessageError.NAME) throw err
    return fail('garbled body')
  }
  if (typeof b.text !== 'string' || Buffer.byteLength(b.text) > MAX_TEXT_BYTES) fail('bad text')
  if (!isShortString(b.name, MAX_NAME_LENGTH)) fail('bad author name')
  if (b.replyTo !== undefined && !isMessageId(b.replyTo)) fail('bad replyTo')
  if (b.mentions !== undefined && (!Array.isArray(b.mentions) || b.mentions.length > 64 ||
    !b.mentions.every(x => isShortString(x, MAX_PEER_ID_LENGTH)))) fail('bad mentions')
  if (b.file !== undefined) parseFileRef(b.file)
  return b as unknown as PostBody
}

const HEX64 = /^[0-9a-f]{64}$/
const MIME = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i

function parseFileRef (value: unknown): FileRef {
  const f = asObject(value)
  if (typeof f.id !== 'string' || !HEX64.test(f.id)) fail('bad file id')
  if (typeof f.sha256 !== 'string' || !HEX64.test(f.sha256)) fail('bad file hash')
  if (!isShortString(f.name, MAX_FILE_NAME_LENGTH) || /[/\\\x00-\x1f]/.test(f.name) || f.name === '.' || f.name === '..') fail('bad file name')
  if (!Number.isSafeInteger(f.size) || (f.size as number) < 0) fail('bad file size')
  if (!isShortString(f.mime, 127) || !MIME.test(f.mime)) fail('bad file type')
  if (!isB64(f.key, 44) || Buffer.from(f.key, 'base64').length !== 32) fail('bad file key')
  if (f.thumb !== undefined) {
    const t = asObject(f.thumb)
    if (!isShortString(t.mime, 64) || !t.mime.startsWith('image/')) fail('bad thumbnail type')
    if (!Number.isSafeInteger(t.width) || !Number.isSafeInteger(t.height) || (t.width as number) < 1 || (t.height as number) < 1 || (t.width as number) > 4096 || (t.height as number) > 4096) fail('bad thumbnail size')
    if (!isB64(t.data, Math.ceil(MAX_THUMBNAIL_BYTES / 3) * 4)) fail('bad thumbnail')
  }
  return f as unknown as FileRef
}
