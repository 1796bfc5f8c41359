import { Level } from 'level'
import { StorageClosedError, StorageLockedError } from './errors.js'

export type KvOp =
  | { type: 'put', key: string, value: Uint8Array }
  | { type: 'del', key: string }

export interface KvRange {
  gte: string
  lt: string
  reverse?: boolean
  limit?: number
}

/**
 * The storage the node needs: ordered string keys, byte values, atomic batches. One LevelDB
 * per node implements it on disk; `MemoryKv` is its in-memory twin for fast tests. Both run
 * the same acceptance suite.
 */
export interface KvStore {
  get(key: string): Promise<Uint8Array | undefined>
  batch(ops: KvOp[]): Promise<void>
  entries(range: KvRange): AsyncIterable<[string, Uint8Array]>
  close(): Promise<void>
}

/** Every key that starts with `prefix`, as a range. */
export function prefixRange (prefix: string): KvRange {
  return { gte: prefix, lt: prefix + '\xff' }
}

export class MemoryKv implements KvStore {
  private closed = false

  /** Pass the `data` of a closed twin to "reopen" it, as a LevelDB is reopened from disk. */
  constructor (readonly data = new Map<string, Uint8Array>()) {}

  async get (key: string): Promise<Uint8Array | undefined> {
    this.assertOpen()
    const value = this.data.get(key)
    return value == null ? undefined : value.slice()
  }

  async batch (ops: KvOp[]): Promise<void> {
    this.assertOpen()
    for (const op of ops) {
      if (op.type === 'put') this.data.set(op.key, op.value.slice())
      else this.data.delete(op.key)
    }
  }

  async * entries (range: KvRange): AsyncIterable<[string, Uint8Array]> {
    this.assertOpen()
    const keys = [...this.data.keys()].filter(k => k >= range.gte && k < range.lt).sort()
    if (range.reverse === true) keys.reverse()
    const limit = range.limit ?? Infinity
    for (const key of keys.slice(0, limit)) {
      const value = this.data.get(key)
      if (value != null) yield [key, value.slice()]
    }
  }

  async close (): Promise<void> {
    this.closed = true
  }

  private assertOpen (): void {
    if (this.closed) throw new StorageClosedError('storage is closed')
  }
}

export class LevelKv implements KvStore {
  private constructor (private readonly db: Level<string, Uint8Array>) {}

  /** Opens (creating if needed) the LevelDB at `dir`; StorageLockedError if a node holds it. */
  static async open (dir: string): Promise<LevelKv> {
    const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' })
    try {
      await db.open()
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new StorageLockedError(`the data directory's database ${dir} is in use by another process`)
      }
      throw err
    }
    return new LevelKv(db)
  }

  async get (key: string): Promise<Uint8Array | undefined> {
    this.assertOpen()
    return await this.db.get(key)
  }

  async batch (ops: KvOp[]): Promise<void> {
    this.assertOpen()
    if (ops.length === 0) return
    await this.db.batch(ops)
  }

  async * entries (range: KvRange): AsyncIterable<[string, Uint8Array]> {
    this.assertOpen()
    yield * this.db.iterator({ gte: range.gte, lt: range.lt, reverse: range.reverse ?? false, limit: range.limit ?? -1 })
  }

  /**
   * Rewrites the database files so that overwritten and deleted values leave them (they
   * linger in LevelDB's log and tables until compaction). Used after encrypting a database
   * that held plaintext.
   */
  async compact (): Promise<void> {
    this.assertOpen()
    // `level`'s types leave out compactRange, which its Node.js backend (classic-level) has.
    const db = this.db as unknown as { compactRange: (start: string, end: string) => Promise<void> }
    // Keys are UTF-8 record names in ASCII; U+FFFF sorts after every one of them.
    await db.compactRange('', '\uffff')
  }

  async close (): Promise<void> {
    await this.db.close()
  }

  private assertOpen (): void {
    if (this.db.status !== 'open') throw new StorageClosedError('storage is closed')
  }
}
