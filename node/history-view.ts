import { MAX_TEXT_BYTES, type ChatMessage, type FileRef } from '../crdt/index.js'
import { InvalidRequestError } from './errors.js'
import type { FileSummary, HistoryEntry } from './node-types.js'

/** How `@all` is stored among a message's mentions. */
export const MENTION_ALL = 'all'

/** A message as the API answers it, for the node `self`; names as this node knows them. */
export function historyEntry (m: ChatMessage, self: string, nameOf: (peerId: string) => string | undefined): HistoryEntry {
  return {
    id: m.id,
    author: m.author,
    authorName: nameOf(m.author) ?? m.authorName,
    ts: m.ts.ms,
    hlc: { ms: m.ts.ms, c: m.ts.c },
    text: m.text,
    ...(m.replyTo != null ? { replyTo: m.replyTo } : {}),
    ...(m.mentions != null ? { mentions: [...m.mentions] } : {}),
    mentionsMe: m.mentions != null && (m.mentions.includes(self) || m.mentions.includes(MENTION_ALL)),
    edits: m.edits,
    deleted: m.deleted,
    reactions: Object.fromEntries(Object.entries(m.reactions).map(([emoji, by]) => [emoji, [...by]])),
    pinned: m.pinned,
    replies: m.replies,
    ...(m.file != null ? { file: fileSummary(m.file) } : {})
  }
}

export function fileSummary (f: FileRef): FileSummary {
  return {
    id: f.id,
    name: f.name,
    size: f.size,
    mime: f.mime,
    sha256: f.sha256,
    ...(f.thumb != null ? { thumbnail: { mime: f.thumb.mime, width: f.thumb.width, height: f.thumb.height } } : {})
  }
}

/**
 * The members a text mentions: `@all`, and `@name` for every member whose display name
 * (as this node knows it, spaces allowed) follows an @ in the text.
 */
export function mentionsIn (text: string, members: Iterable<string>, nameOf: (peerId: string) => string | undefined): string[] {
  if (!text.includes('@')) return []
  const found = new Set<string>()
  if (/(^|\s)@all\b/i.test(text)) found.add(MENTION_ALL)
  const lower = text.toLowerCase()
  for (const peerId of members) {
    const name = nameOf(peerId)
    if (name != null && lower.includes(`@${name.toLowerCase()}`)) found.add(peerId)
  }
  return [...found]
}

export function checkText (text: string): void {
  if (typeof text !== 'string' || text.trim().length === 0) throw new InvalidRequestError('the message text is empty')
  if (Buffer.byteLength(text) > MAX_TEXT_BYTES) throw new InvalidRequestError(`the message is longer than ${MAX_TEXT_BYTES} bytes`)
}
