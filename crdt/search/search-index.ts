import { createHash, createHmac, randomBytes } from 'node:crypto'
import { prefixRange, type KvOp, type KvStore } from '../kv.js'
import { CorruptSearchIndexError, InvalidSearchDocError, SearchIndexClosedError } from './errors.js'
import { Lru } from './lru.js'
import { decodePostings, encodePostings, type Postings } from './postings.js'
import { rank } from './rank.js'
import { BLOCK_BYTES, blockOf, killSlot, loadBlock, usedBytes, writeSlot } from './slots.js'
import { termCounts, tokenize } from './tokenize.js'

/** What is indexed of a message. */
export interface SearchDoc {
  /** the message id: 24 hex characters */
  id: string
  /** the author's PeerId */
  author: string
  /** ms since the epoch */
  ts: number
  text: string
  /** the message carries a file (messages have no files yet: false) */
  hasFile?: boolean
  /** a deleted message is removed from the index */
  deleted?: boolean
}

export interface SearchOptions {
  groupId?: string
  /** the author's PeerId */
  author?: string
  /** ms since the epoch, inclusive */
  since?: number
  /** ms since the epoch, inclusive */
  until?: number
  hasFile?: boolean
  /** at most this many hits (default 20, at most 1,000) */
  limit?: number
  signal?: AbortSignal
}

export interface SearchHit {
  groupId: string
  messageId: string
  author: string
  ts: number
  /** BM25; ties go to the newer message */
  score: number
}

export interface SearchIndexInit {
  /** key prefix of every record (default `search!v1!`) */
  prefix?: string
  /**
   * how long index writes gather before they are written in one batch (default 1 s). A
   * batch rewrites the slot block and each touched term's last posting chunk whole, so a
   * short delay multiplies what reaches the disk: at 50 ms, 10 messages/s rewrote them for
   * every message, and 10 nodes in the lab all stalled together about 6 s into a load
   * (gone at 1 s: fan-out p99 57 -> 45 ms, 8% less CPU).
   * Queries write what is pending first, and a crash is caught up at start, so the delay
   * is not seen.
   */
  flushDelayMs?: number
  /** write at once when this many messages wait (default 2,000) */
  maxPending?: number
  /** document blocks kept in memory, 32 KiB each (default 256: 262,144 documents) */
  cacheBlocks?: number
  /** posting-list tails kept in memory (default 8,192) */
  cacheTails?: number
}

export const DEFAULT_LIMIT = 20
export const MAX_LIMIT = 1_000
/** A term's last chunk is appended to (rewritten) while smaller than this; then a new one starts. */
const TAIL_BYTES = 1024
const TERM_HASH_BYTES = 8
const INDEX_KEY_BYTES = 32
const FINGERPRINT_BYTES = 8
const MESSAGE_ID = /^[0-9a-f]{24}$/

interface State { nextDoc: number, live: number, totalLength: number, nextGroup: number, nextAuthor: number }
interface GroupRecord { no: number, mark?: string }
interface Tail { no: number, bytes: Uint8Array, last: number }
/** A document record: its number and a fingerprint of what was indexed. */
interface DocRecord { doc: number, fingerprint: string }

type Op =
  | { type: 'doc', groupId: string, doc: SearchDoc }
  | { type: 'remove', groupId: string, messageId: string }
  | { type: 'removeGroup', groupId: string }
  | { type: 'mark', groupId: string, mark: Uint8Array }

const pad = (n: number): string => n.toString(36).padStart(6, '0')

/**
 * A full-text index over a KvStore (see index.ts for what it promises). Layout, under the
 * prefix:
 *   key                   the index key (32 random bytes) that terms are hashed with
 *   state                 counters: next document number, live documents, total length
 *   g!GROUP / a!PEER      group and author numbers (and the group's mark)
 *   d!GROUP!MESSAGE       the message's document number and content fingerprint
 *   m!BLOCK               1,024 document slots (slots.ts)
 *   p!TERMHASH!CHUNK      a term's postings (postings.ts); TERMHASH = HMAC-SHA256(key, term), 8 bytes
 * No record key holds a term; values (postings, slots) are sealed when the store is an EncryptedKv.
 */
export class SearchIndex {
  private readonly prefix: string
  private readonly flushDelayMs: number
  private readonly maxPending: number
  private readonly pending = new Map<string, Op>()
  private readonly blocks: Lru<number, Buffer>
  private readonly tails: Lru<string, Tail>
  private readonly hashes = new Lru<string, string>(65_536)
  private readonly groups = new Map<string, GroupRecord>()
  private readonly groupIds = new Map<number, string>()
  private readonly authors = new Map<string, number>()
  private readonly authorIds = new Map<number, string>()
  private timer: NodeJS.Timeout | undefined
  private draining: Promise<void> | undefined
  private failure: Error | undefined
  private closed = false

  private constructor (private readonly kv: KvStore, private readonly indexKey: Uint8Array, private state: State, init: SearchIndexInit) {
    this.prefix = init.prefix ?? 'search!v1!'
    this.flushDelayMs = init.flushDelayMs ?? 1_000
    this.maxPending = init.maxPending ?? 2_000
    this.blocks = new Lru(init.cacheBlocks ?? 256)
    this.tails = new Lru(init.cacheTails ?? 8_192)
  }

  /** Opens the index stored in `kv` (creating its key on first use). */
  static async open (kv: KvStore, init: SearchIndexInit = {}): Promise<SearchIndex> {
    const prefix = init.prefix ?? 'search!v1!'
    let key = await kv.get(prefix + 'key')
    if (key == null) {
      key = randomBytes(INDEX_KEY_BYTES)
      await kv.batch([{ type: 'put', key: prefix + 'key', value: key }])
    }
    if (key.byteLength !== INDEX_KEY_BYTES) throw new CorruptSearchIndexError('the search index key has the wrong length')
    const stored = await kv.get(prefix + 'state')
    const state = stored == null ? { nextDoc: 0, live: 0, totalLength: 0, nextGroup: 0, nextAuthor: 0 } : parseJson<State>(stored, 'state')
    const index = new SearchIndex(kv, key, state, init)
    for await (const [k, v] of kv.entries(prefixRange(prefix + 'g!'))) {
      const record = parseJson<GroupRecord>(v, k)
      const groupId = k.slice(prefix.length + 2)
      index.groups.set(groupId, record)
      index.groupIds.set(record.no, groupId)
    }
    for await (const [k, v] of kv.entries(prefixRange(prefix + 'a!'))) {
      const { no } = parseJson<{ no: number }>(v, k)
      const author = k.slice(prefix.length + 2)
      index.authors.set(author, no)
      index.authorIds.set(no, author)
    }
    return index
  }

  /** Messages indexed and not removed. */
  get size (): number { return this.state.live }

  /** Index (or re-index, after an edit) a message; a deleted one is removed. Written within flushDelayMs. */
  index (groupId: string, doc: SearchDoc): void {
    if (doc.deleted === true || doc.text.trim() === '') { this.remove(groupId, doc.id); return }
    if (!MESSAGE_ID.test(doc.id)) throw new InvalidSearchDocError(`message id ${doc.id} is not 24 hex characters`)
    if (typeof doc.author !== 'string' || doc.author === '' || doc.author.includes('!')) throw new InvalidSearchDocError('a message needs its author\'s PeerId')
    if (!Number.isFinite(doc.ts)) throw new InvalidSearchDocError('a message needs its time in ms')
    this.enqueue(`${groupId}!${doc.id}`, { type: 'doc', groupId, doc })
  }

  remove (groupId: string, messageId: string): void {
    this.enqueue(`${groupId}!${messageId}`, { type: 'remove', groupId, messageId })
  }

  /** Forgets every message of a group (a group this node left). */
  removeGroup (groupId: string): void {
    this.enqueue(`G!${groupId}`, { type: 'removeGroup', groupId })
  }

  /**
   * Stores `mark` for a group together with everything indexed before it, so that a caller
   * can tell at start whether the group's index is current (the node stores the document's
   * state vector when it stops).
   */
  setMark (groupId: string, mark: Uint8Array): void {
    this.enqueue(`M!${groupId}`, { type: 'mark', groupId, mark })
  }

  getMark (groupId: string): Uint8Array | undefined {
    const mark = this.groups.get(groupId)?.mark
    return mark == null ? undefined : Buffer.from(mark, 'base64')
  }

  /** Every message id of a group in the index (to find those that left the history). */
  async * messageIds (groupId: string): AsyncIterable<string> {
    const at = this.prefix + 'd!' + groupId + '!'
    for await (const [key] of this.kv.entries(prefixRange(at))) yield key.slice(at.length)
  }

  /** Resolves once everything given so far is on disk. */
  async flush (): Promise<void> {
    this.assertUsable()
    this.draining ??= this.drain().finally(() => { this.draining = undefined })
    await this.draining
  }

  /** Ranked hits for `query`: every term must occur (CJK as bigrams: a substring match). */
  async search (query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    if (this.pending.size > 0 || this.draining != null) await this.flush()
    this.assertUsable()
    const limit = Math.min(options.limit ?? DEFAULT_LIMIT, MAX_LIMIT)
    const terms = [...new Set(tokenize(query))]
    if (terms.length === 0 || limit <= 0) return []
    let groupNo: number | undefined
    if (options.groupId != null) {
      groupNo = this.groups.get(options.groupId)?.no
      if (groupNo == null) return []
    }
    let authorNo: number | undefined
    if (options.author != null) {
      authorNo = this.authors.get(options.author)
      if (authorNo == null) return []
    }
    const lists = await Promise.all(terms.map(async t => await this.postings(this.termHash(t))))
    options.signal?.throwIfAborted()
    lists.sort((a, b) => a.docs.length - b.docs.length)
    if (lists[0].docs.length === 0) return []
    const filter = { groupNo, authorNo, since: options.since ?? -Infinity, until: options.until ?? Infinity, hasFile: options.hasFile }
    const ranked = rank(lists, await this.loadBlocks(lists[0].docs), filter, this.state, limit)
    return ranked.map(({ score, slot }) => ({
      groupId: this.groupIds.get(slot.groupNo) ?? '',
      messageId: slot.messageId,
      author: this.authorIds.get(slot.authorNo) ?? '',
      ts: slot.ts,
      score
    }))
  }

  /** Writes what is pending; the KvStore stays open (its owner closes it). */
  async close (): Promise<void> {
    if (this.closed) return
    await this.flush()
    clearTimeout(this.timer)
    this.closed = true
  }

  private enqueue (key: string, op: Op): void {
    this.assertUsable()
    // The latest change to a message wins; moving it to the end keeps the order of changes.
    this.pending.delete(key)
    this.pending.set(key, op)
    if (this.pending.size >= this.maxPending) {
      this.flush().catch(() => {})
    } else if (this.timer == null) {
      this.timer = setTimeout(() => { this.timer = undefined; this.flush().catch(() => {}) }, this.flushDelayMs)
      this.timer.unref?.()
    }
  }

  private assertUsable (): void {
    if (this.failure != null) throw new SearchIndexClosedError(`the search index could not be written: ${this.failure.message}`)
    if (this.closed) throw new SearchIndexClosedError('the search index is closed')
  }

  private async drain (): Promise<void> {
    while (this.pending.size > 0) {
      clearTimeout(this.timer)
      this.timer = undefined
      const ops = [...this.pending.values()]
      this.pending.clear()
      try {
        await this.write(ops)
      } catch (err) {
        // The caches are now ahead of the disk: refuse further use rather than drift.
        this.failure = err as Error
        throw err
      }
    }
  }

  private termHash (term: string): string {
    let hash = this.hashes.get(term)
    if (hash == null) {
      hash = createHmac('sha256', this.indexKey).update(term).digest().toString('hex', 0, TERM_HASH_BYTES)
      this.hashes.set(term, hash)
    }
    return hash
  }

  private async postings (hash: string): Promise<Postings> {
    const out: Postings = { docs: [], tfs: [] }
    for await (const [, value] of this.kv.entries(prefixRange(`${this.prefix}p!${hash}!`))) decodePostings(value, out)
    return out
  }

  private async block (no: number, dirty?: Map<number, Buffer>): Promise<Buffer> {
    const block = dirty?.get(no) ?? this.blocks.get(no)
    if (block != null) return block
    const loaded = loadBlock(await this.kv.get(`${this.prefix}m!${pad(no)}`))
    this.blocks.set(no, loaded)
    return loaded
  }

  /** The blocks of `docs`, held for one query (the cache may drop them meanwhile). */
  private async loadBlocks (docs: number[]): Promise<Map<number, Buffer>> {
    const blocks = new Map<number, Buffer>()
    let last = -1
    for (const doc of docs) {
      const no = blockOf(doc)
      if (no !== last && !blocks.has(no)) blocks.set(no, Buffer.alloc(0))
      last = no
    }
    await Promise.all([...blocks.keys()].map(async no => { blocks.set(no, await this.block(no)) }))
    return blocks
  }

  /** One batch: the ops in order, then the postings they add, slots, records and counters. */
  private async write (ops: Op[]): Promise<void> {
    const batch = new Map<string, KvOp>()
    const put = (key: string, value: Uint8Array): void => { batch.set(key, { type: 'put', key, value }) }
    const del = (key: string): void => { batch.set(key, { type: 'del', key }) }
    const dirty = new Map<number, Buffer>()
    const records = new Map<string, DocRecord | null>()
    const added = new Map<string, { docs: number[], tfs: number[] }>()
    const state = this.state

    const recordKey = (groupId: string, id: string): string => `${this.prefix}d!${groupId}!${id}`
    await Promise.all(ops.map(async op => {
      if (op.type !== 'doc' && op.type !== 'remove') return
      const key = recordKey(op.groupId, op.type === 'doc' ? op.doc.id : op.messageId)
      const stored = await this.kv.get(key)
      records.set(key, stored == null ? null : { doc: Buffer.from(stored).readUInt32LE(0), fingerprint: Buffer.from(stored).toString('hex', 4) })
    }))
    const kill = async (doc: number): Promise<void> => {
      const no = blockOf(doc)
      const block = await this.block(no, dirty)
      const length = killSlot(block, doc)
      if (length >= 0) { state.live--; state.totalLength -= length; dirty.set(no, block) }
    }
    const groupNo = (groupId: string): GroupRecord => {
      let record = this.groups.get(groupId)
      if (record == null) {
        record = { no: state.nextGroup++ }
        this.groups.set(groupId, record)
        this.groupIds.set(record.no, groupId)
        put(`${this.prefix}g!${groupId}`, json(record))
      }
      return record
    }
    const authorNo = (author: string): number => {
      let no = this.authors.get(author)
      if (no == null) {
        no = state.nextAuthor++
        this.authors.set(author, no)
        this.authorIds.set(no, author)
        put(`${this.prefix}a!${author}`, json({ no }))
      }
      return no
    }

    for (const op of ops) {
      if (op.type === 'mark') {
        const record = groupNo(op.groupId)
        record.mark = Buffer.from(op.mark).toString('base64')
        put(`${this.prefix}g!${op.groupId}`, json(record))
      } else if (op.type === 'removeGroup') {
        const at = `${this.prefix}d!${op.groupId}!`
        for await (const [key, value] of this.kv.entries(prefixRange(at))) {
          if (!records.has(key)) records.set(key, { doc: Buffer.from(value).readUInt32LE(0), fingerprint: '' })
        }
        for (const [key, record] of records) {
          if (record == null || !key.startsWith(at)) continue
          await kill(record.doc)
          records.set(key, null)
          del(key)
        }
        const record = this.groups.get(op.groupId)
        if (record?.mark != null) { delete record.mark; put(`${this.prefix}g!${op.groupId}`, json(record)) }
      } else {
        const key = recordKey(op.groupId, op.type === 'doc' ? op.doc.id : op.messageId)
        const existing = records.get(key) ?? null
        if (op.type === 'remove') {
          if (existing != null) { await kill(existing.doc); records.set(key, null); del(key) }
          continue
        }
        const d = op.doc
        const fingerprint = createHash('sha256').update(`${d.author}\n${d.ts}\n${d.hasFile === true ? 1 : 0}\n${d.text}`).digest().toString('hex', 0, FINGERPRINT_BYTES)
        if (existing != null && existing.fingerprint === fingerprint) continue
        if (existing != null) await kill(existing.doc)
        const doc = state.nextDoc++
        const counts = termCounts(d.text)
        let length = 0
        for (const [term, tf] of counts) {
          length += tf
          const hash = this.termHash(term)
          let list = added.get(hash)
          if (list == null) { list = { docs: [], tfs: [] }; added.set(hash, list) }
          list.docs.push(doc)
          list.tfs.push(tf)
        }
        const no = blockOf(doc)
        const block = await this.block(no, dirty)
        writeSlot(block, doc, { hasFile: d.hasFile === true, length, groupNo: groupNo(op.groupId).no, authorNo: authorNo(d.author), ts: d.ts, messageId: d.id })
        dirty.set(no, block)
        state.live++
        state.totalLength += Math.min(length, 0xffff)
        const record = Buffer.alloc(4 + FINGERPRINT_BYTES)
        record.writeUInt32LE(doc, 0)
        record.write(fingerprint, 4, 'hex')
        records.set(key, { doc, fingerprint })
        put(key, record)
      }
    }

    const hashes = [...added.keys()]
    const tails = new Map<string, Tail | null>()
    const SLICE = 256
    for (let i = 0; i < hashes.length; i += SLICE) {
      await Promise.all(hashes.slice(i, i + SLICE).map(async hash => { tails.set(hash, await this.tail(hash)) }))
    }
    for (const [hash, list] of added) {
      const tail = tails.get(hash) ?? null
      let next: Tail
      if (tail != null && tail.bytes.byteLength < TAIL_BYTES) {
        const more = encodePostings(list.docs, list.tfs, tail.last)
        const bytes = new Uint8Array(tail.bytes.byteLength + more.byteLength)
        bytes.set(tail.bytes)
        bytes.set(more, tail.bytes.byteLength)
        next = { no: tail.no, bytes, last: list.docs[list.docs.length - 1] }
      } else {
        next = { no: (tail?.no ?? -1) + 1, bytes: encodePostings(list.docs, list.tfs, -1), last: list.docs[list.docs.length - 1] }
      }
      this.tails.set(hash, next)
      put(`${this.prefix}p!${hash}!${pad(next.no)}`, next.bytes)
    }
    for (const [no, block] of dirty) {
      // The tail block is stored as far as it is used.
      const used = no === blockOf(state.nextDoc) ? usedBytes(state.nextDoc) : BLOCK_BYTES
      put(`${this.prefix}m!${pad(no)}`, block.subarray(0, used))
      this.blocks.set(no, block)
    }
    put(`${this.prefix}state`, json(state))
    await this.kv.batch([...batch.values()])
  }

  /** A term's last posting chunk (from memory, else the store), or null if it has none. */
  private async tail (hash: string): Promise<Tail | null> {
    const cached = this.tails.get(hash)
    if (cached != null) return cached
    const at = `${this.prefix}p!${hash}!`
    for await (const [key, bytes] of this.kv.entries({ ...prefixRange(at), reverse: true, limit: 1 })) {
      const last = decodePostings(bytes, { docs: [], tfs: [] })
      return { no: parseInt(key.slice(at.length), 36), bytes, last }
    }
    return null
  }
}

function json (value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value))
}

function parseJson<T> (bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T
  } catch {
    throw new CorruptSearchIndexError(`the search index record ${what} is not readable`)
  }
}
