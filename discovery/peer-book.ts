/**
 * The peers this node has met, persisted so that after a restart it redials them without
 * waiting for mDNS (which may not cross the segment) and so `outpost peers` can name them.
 */
export interface PeerRecord {
  peerId: string
  /** display name, from the peer's profile */
  name?: string
  /** last known dialable addresses (with /p2p/ suffix) */
  addrs: string[]
  /** ms since epoch when we were last connected */
  lastSeen?: number
}

type StoreOp = { type: 'put', key: string, value: Uint8Array } | { type: 'del', key: string }

/** The part of the node's key-value store the peer book needs. */
export interface PeerBookStore {
  batch(ops: StoreOp[]): Promise<void>
  entries(range: { gte: string, lt: string }): AsyncIterable<[string, Uint8Array]>
}

const PREFIX = 'peer!'
const MAX_ADDRS = 16

export class PeerBook {
  private readonly records = new Map<string, PeerRecord>()

  private constructor (private readonly store: PeerBookStore) {}

  static async load (store: PeerBookStore): Promise<PeerBook> {
    const book = new PeerBook(store)
    for await (const [key, value] of store.entries({ gte: PREFIX, lt: PREFIX + '\xff' })) {
      try {
        const record = JSON.parse(Buffer.from(value).toString('utf8')) as PeerRecord
        if (typeof record.peerId === 'string' && Array.isArray(record.addrs)) book.records.set(record.peerId, record)
      } catch {
        // A record we cannot read is only a hint; the peer will be met again.
        await store.batch([{ type: 'del', key }])
      }
    }
    return book
  }

  get (peerId: string): PeerRecord | undefined {
    return this.records.get(peerId)
  }

  all (): PeerRecord[] {
    return [...this.records.values()]
  }

  /** Merges what we learned about a peer and persists it. */
  async update (peerId: string, patch: { name?: string, addrs?: string[], lastSeen?: number }): Promise<void> {
    const current = this.records.get(peerId) ?? { peerId, addrs: [] }
    const addrs = patch.addrs == null
      ? current.addrs
      : [...new Set([...patch.addrs, ...current.addrs])].slice(0, MAX_ADDRS)
    const next: PeerRecord = {
      ...current,
      addrs,
      ...(patch.name != null ? { name: patch.name } : {}),
      ...(patch.lastSeen != null ? { lastSeen: patch.lastSeen } : {})
    }
    if (JSON.stringify(next) === JSON.stringify(current) && this.records.has(peerId)) return
    this.records.set(peerId, next)
    await this.store.batch([{ type: 'put', key: PREFIX + peerId, value: Buffer.from(JSON.stringify(next)) }])
  }
}
