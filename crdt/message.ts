import { InvalidMessageError } from './errors.js'
import { compareTimestamps, isTimestamp, type Timestamp } from './hlc.js'
import { isMessageId, type MessageId } from './ids.js'

/** Text longer than this (in UTF-8 bytes) is refused on send and ignored on receipt. */
export const MAX_TEXT_BYTES = 64 * 1024
export const MAX_NAME_LENGTH = 128
const MAX_AUTHOR_LENGTH = 128
const MAX_MENTIONS = 64

export type MessageKind = 'text'

/**
 * One chat message, stored as one plain JSON value in the group document's `messages` map
 * under its id (plain values parse several times faster than nested Y types).
 */
export interface ChatMessage {
  readonly v: 1
  readonly id: MessageId
  /** the author's PeerId */
  readonly author: string
  /** the author's display name when the message was written */
  readonly authorName: string
  readonly ts: Timestamp
  readonly kind: MessageKind
  readonly text: string
  readonly replyTo?: MessageId
  readonly mentions?: readonly string[]
  readonly edits: number
  readonly deleted: boolean
}

function fail (why: string): never {
  throw new InvalidMessageError(`invalid message: ${why}`)
}

function isShortString (value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max
}

/** Validate an untrusted value (from a peer's update or from disk) as a message. */
export function parseMessage (value: unknown): ChatMessage {
  if (value == null || typeof value !== 'object' || Array.isArray(value)) fail('not an object')
  const m = value as Record<string, unknown>
  if (m.v !== 1) fail(`unsupported version ${String(m.v)}`)
  if (!isMessageId(m.id)) fail('bad id')
  if (!isShortString(m.author, MAX_AUTHOR_LENGTH)) fail('bad author')
  if (!isShortString(m.authorName, MAX_NAME_LENGTH)) fail('bad author name')
  if (!isTimestamp(m.ts)) fail('bad timestamp')
  if (m.kind !== 'text') fail(`unknown kind ${String(m.kind)}`)
  if (typeof m.text !== 'string' || Buffer.byteLength(m.text) > MAX_TEXT_BYTES) fail('bad text')
  if (m.replyTo !== undefined && !isMessageId(m.replyTo)) fail('bad replyTo')
  if (m.mentions !== undefined && (!Array.isArray(m.mentions) || m.mentions.length > MAX_MENTIONS ||
    !m.mentions.every(x => isShortString(x, MAX_AUTHOR_LENGTH)))) fail('bad mentions')
  if (!Number.isSafeInteger(m.edits) || (m.edits as number) < 0) fail('bad edit counter')
  if (typeof m.deleted !== 'boolean') fail('bad deleted flag')
  return m as unknown as ChatMessage
}

/** The display order, the same on every replica: (timestamp, author, id). */
export function compareMessages (a: ChatMessage, b: ChatMessage): number {
  const byTime = compareTimestamps(a.ts, b.ts)
  if (byTime !== 0) return byTime
  if (a.author !== b.author) return a.author < b.author ? -1 : 1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}
