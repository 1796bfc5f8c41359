import { logger } from '@libp2p/logger'
import type { ChatMessage, KvStore } from '../crdt/index.js'
import { MAX_LIMIT, SearchIndex, snippet, type SearchDoc, type SearchIndexInit } from '../crdt/search/index.js'
import { InvalidRequestError } from './errors.js'
import type { Group, GroupRegistry } from './groups.js'
import type { HistoryEntry } from './node-types.js'

const log = logger('outpost:search')

export interface SearchServiceComponents {
  kv: KvStore
  groups: GroupRegistry
  /** the API's view of a message */
  entry: (message: ChatMessage) => HistoryEntry
  /** a PeerId from a PeerId or a display name (unknown names are taken as they are) */
  peerIdOf: (who: string) => string
}

export interface NodeSearchOptions {
  group?: string
  /** the author: PeerId, or a name one known peer has */
  from?: string
  since?: number
  until?: number
  hasFile?: boolean
  limit?: number
}

export interface SearchResult {
  groupId: string
  groupName: string
  message: HistoryEntry
  score: number
  snippet: string
}

type State = 'stopped' | 'running'

/**
 * Keeps the node's search index (crdt/search) current: every message event of every group
 * (local, remote, storage) is indexed with the message's text as it is now, so an edit
 * re-indexes and a delete removes. At stop each group's Yjs state vector is stored with the
 * index as its mark; at start a group whose document still has that state vector is not
 * looked at again, and any other (new, changed since, or after a crash) is caught up in the
 * background: each message is compared with its indexed fingerprint and only what differs
 * is written. Queries wait for that catch-up.
 */
export class SearchService {
  private state: State = 'stopped'
  private index: SearchIndex | undefined
  private catchingUp: Promise<void> = Promise.resolve()
  private readonly unwatch = new Map<string, () => void>()

  constructor (private readonly components: SearchServiceComponents, private readonly init: SearchIndexInit = {}) {}

  async start (): Promise<void> {
    if (this.state === 'running') return
    this.index = await SearchIndex.open(this.components.kv, this.init)
    this.state = 'running'
    const groups = this.components.groups.list()
    for (const group of groups) this.watch(group)
    this.catchingUp = this.catchUp(groups)
    // A failed catch-up is reported by the next query; nothing else waits for it.
    this.catchingUp.catch(err => { log.error('search index catch-up failed: %s', (err as Error).message) })
  }

  async stop (): Promise<void> {
    if (this.state !== 'running' || this.index == null) return
    this.state = 'stopped'
    for (const off of this.unwatch.values()) off()
    this.unwatch.clear()
    await this.catchingUp.catch(() => {})
    for (const group of this.components.groups.list()) this.index.setMark(group.info.groupId, group.doc.stateVector())
    await this.index.close()
  }

  /** Indexes a group's messages as they change (the node calls it for groups added later). */
  watch (group: Group): void {
    const index = this.index
    if (this.state !== 'running' || index == null || this.unwatch.has(group.info.groupId)) return
    const groupId = group.info.groupId
    const offMessages = group.doc.onMessages(messages => {
      // A listener on the receive path: one message the index refuses must not stop the others.
      for (const m of messages) {
        try { index.index(groupId, searchDoc(m)) } catch (err) { log.error('cannot index message %s of %s: %s', m.id, groupId, (err as Error).message) }
      }
    })
    // Expired (retention) or otherwise gone from the view: out of the index too.
    const offRemoved = group.doc.onRemoved(ids => {
      for (const id of ids) {
        try { index.remove(groupId, id) } catch (err) { log.error('cannot unindex message %s of %s: %s', id, groupId, (err as Error).message) }
      }
    })
    this.unwatch.set(groupId, () => { offMessages(); offRemoved() })
  }

  async search (query: string, options: NodeSearchOptions = {}): Promise<SearchResult[]> {
    if (this.state !== 'running' || this.index == null) throw new InvalidRequestError('search is not running on this node')
    if (typeof query !== 'string' || query.trim() === '') throw new InvalidRequestError('the search query is empty')
    const limit = options.limit ?? 20
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new InvalidRequestError(`limit must be a whole number from 1 to ${MAX_LIMIT}`)
    if (options.group != null) this.components.groups.require(options.group)
    await this.catchingUp
    const hits = await this.index.search(query, {
      groupId: options.group,
      author: options.from != null ? this.components.peerIdOf(options.from) : undefined,
      since: options.since,
      until: options.until,
      hasFile: options.hasFile,
      limit
    })
    const results: SearchResult[] = []
    for (const hit of hits) {
      const group = this.components.groups.get(hit.groupId)
      const message = group?.doc.get(hit.messageId as ChatMessage['id'])
      // The index lags the document by one flush at most; the document has the last word.
      if (group == null || message == null || message.deleted) continue
      results.push({
        groupId: hit.groupId,
        groupName: group.doc.membership.name ?? group.info.name,
        message: this.components.entry(message),
        score: Number(hit.score.toFixed(4)),
        snippet: snippet(searchDoc(message).text, query)
      })
    }
    return results
  }

  private async catchUp (groups: Group[]): Promise<void> {
    const index = this.index as SearchIndex
    for (const group of groups) {
      const groupId = group.info.groupId
      const mark = index.getMark(groupId)
      if (mark != null && Buffer.from(mark).equals(Buffer.from(group.doc.stateVector()))) continue
      const held = new Set<string>()
      for (const m of group.doc.latest()) {
        held.add(m.id)
        index.index(groupId, searchDoc(m))
      }
      for await (const id of index.messageIds(groupId)) if (!held.has(id)) index.remove(groupId, id)
      log('search index of %s caught up (%d messages)', groupId, held.size)
    }
    await index.flush()
  }
}

function searchDoc (m: ChatMessage): SearchDoc {
  // A file's name is found like its caption.
  const text = m.file != null ? `${m.text}\n${m.file.name}` : m.text
  return { id: m.id, author: m.author, ts: m.ts.ms, text, deleted: m.deleted, hasFile: m.file != null }
}
