import * as Y from 'yjs'
import { InvalidUpdateError } from './errors.js'
import { prefixRange, type KvOp, type KvStore } from './kv.js'

export interface DocStoreInit {
  /**
   * Fold a document's update log into one snapshot once it holds more than this many
   * entries and, since the last snapshot, at least as many bytes as that snapshot.
   */
  compactAfter?: number
}

/** Subscribes to a document's changes as updates; returns how to unsubscribe. */
export type UpdateSource = (listener: (update: Uint8Array, origin: unknown) => void) => () => void

const yjsUpdates = (doc: Y.Doc): UpdateSource => listener => {
  doc.on('update', listener)
  return () => { doc.off('update', listener) }
}

const DEFAULT_COMPACT_AFTER = 500
/** Key layout version; bump when the layout changes and migrate on open. */
export const STORAGE_LAYOUT_VERSION = 1
const SEQ_DIGITS = 12

/**
 * Group commit: writes issued while a batch is on its way to disk are gathered into the
 * next batch. Under load this batches; when idle a write goes out at once, so batching adds
 * no latency. A caller's promise resolves only once its ops are in the database.
 */
class BatchWriter {
  private pending: KvOp[] = []
  private waiters: Array<{ resolve: () => void, reject: (err: Error) => void }> = []
  private flushing: Promise<void> | null = null

  constructor (private readonly kv: KvStore) {}

  write (ops: KvOp[]): Promise<void> {
    // Not push(...ops): a compaction deletes every log entry since the last snapshot in one
    // write, hundreds of thousands in a long history, beyond the limit on spread arguments.
    for (const op of ops) this.pending.push(op)
    const done = new Promise<void>((resolve, reject) => { this.waiters.push({ resolve, reject }) })
    if (this.flushing == null) this.flushing = this.flushLoop()
    return done
  }

  /** Resolves once everything written so far is on disk. */
  async idle (): Promise<void> {
    while (this.flushing != null) await this.flushing
  }

  private async flushLoop (): Promise<void> {
    // Let writes issued in the same tick join the first batch.
    await new Promise<void>(resolve => setImmediate(resolve))
    while (this.pending.length > 0) {
      const ops = this.pending
      const waiters = this.waiters
      this.pending = []
      this.waiters = []
      try {
        await this.kv.batch(ops)
        for (const w of waiters) w.resolve()
      } catch (err) {
        for (const w of waiters) w.reject(err as Error)
      }
    }
    this.flushing = null
  }
}

/**
 * Persists Yjs documents as append-only update logs under ordered, versioned keys
 * (`doc!NAME!SEQ`), compacted into one snapshot past a threshold (the y-leveldb layout,
 * without its global queue: every document shares one group-commit writer instead).
 */
export class DocStore {
  private readonly writer: BatchWriter
  private readonly compactAfter: number

  constructor (private readonly kv: KvStore, init: DocStoreInit = {}) {
    this.writer = new BatchWriter(kv)
    this.compactAfter = init.compactAfter ?? DEFAULT_COMPACT_AFTER
  }

  /**
   * Loads `name`'s stored updates into `doc`, then persists every later change of `doc`:
   * each update `changes` reports (by default, the doc's own update events).
   */
  async attach (name: string, doc: Y.Doc, changes: UpdateSource = yjsUpdates(doc)): Promise<PersistedDoc> {
    const prefix = `doc!${name}!`
    const updates: Uint8Array[] = []
    let storedBytes = 0
    let lastSeq = -1
    for await (const [key, value] of this.kv.entries(prefixRange(prefix))) {
      updates.push(value)
      storedBytes += value.length
      lastSeq = Number(key.slice(prefix.length))
    }
    if (updates.length > 0) {
      try {
        // One transaction over all entries: measured 15x faster than Y.mergeUpdates first
        // (12k entries: 119 ms against 1.9 s) and with half the memory.
        doc.transact(() => { for (const update of updates) Y.applyUpdate(doc, update, 'storage') }, 'storage')
      } catch (err) {
        throw new InvalidUpdateError(`stored history of ${name} is corrupt: ${(err as Error).message}`)
      }
    }
    return new PersistedDoc(prefix, doc, changes, this.writer, { lastSeq, entries: updates.length, storedBytes }, this.compactAfter)
  }

  /** Every document name with stored updates. */
  async names (): Promise<string[]> {
    const names = new Set<string>()
    for await (const [key] of this.kv.entries(prefixRange('doc!'))) {
      names.add(key.slice(4, key.indexOf('!', 4)))
    }
    return [...names]
  }

  async flush (): Promise<void> {
    await this.writer.idle()
  }
}

export class PersistedDoc {
  private seq: number
  private entries: number
  /** size of what the last snapshot (or the log as loaded) held, and of what came since */
  private snapshotBytes: number
  private tailBytes = 0
  /** a snapshot scheduled to run once the current change has been handled */
  private compaction: Promise<void> | null = null
  private detached = false
  private pendingWrite: Promise<void> = Promise.resolve()
  private readonly unsubscribe: () => void
  private error: Error | null = null

  constructor (
    private readonly prefix: string,
    private readonly doc: Y.Doc,
    changes: UpdateSource,
    private readonly writer: BatchWriter,
    loaded: { lastSeq: number, entries: number, storedBytes: number },
    private readonly compactAfter: number
  ) {
    this.seq = loaded.lastSeq
    this.entries = loaded.entries
    this.snapshotBytes = loaded.storedBytes
    this.unsubscribe = changes((update, origin) => {
      if (origin === 'storage') return
      this.append(update)
    })
  }

  /** Resolves once every change made so far is on disk; rejects if a write failed. */
  async flushed (): Promise<void> {
    await this.compaction
    await this.pendingWrite
    if (this.error != null) throw this.error
  }

  /** Number of log entries currently stored for this document. */
  get logLength (): number {
    return this.entries
  }

  detach (): void {
    this.detached = true
    this.unsubscribe()
  }

  private key (seq: number): string {
    return this.prefix + String(seq).padStart(SEQ_DIGITS, '0')
  }

  private append (update: Uint8Array): void {
    this.write([{ type: 'put', key: this.key(++this.seq), value: update }])
    this.entries++
    this.tailBytes += update.length
    // Snapshotting re-encodes the whole document, so it waits until as many bytes arrived
    // as the last snapshot held: the cost per message stays flat as history grows
    // (measured: a fixed threshold fell from 9k to 1.6k appends/s by 40k messages).
    // It runs after the current change has been published, not in its way.
    if (this.entries > this.compactAfter && this.tailBytes >= this.snapshotBytes) this.compactSoon()
  }

  /**
   * Folds the log into one snapshot once the current change has been handled. Also asked
   * for after an erasure: the snapshot no longer holds what was erased, the log entries
   * that did are deleted.
   */
  compactSoon (): void {
    if (this.compaction != null) return
    this.compaction = new Promise(resolve => setImmediate(() => {
      this.compaction = null
      if (!this.detached) this.compact()
      resolve()
    }))
  }

  /** One atomic batch: the snapshot replaces every entry written so far. */
  private compact (): void {
    const firstStale = this.seq - this.entries + 1
    const snapshotSeq = ++this.seq
    const ops: KvOp[] = []
    for (let s = Math.max(0, firstStale); s < snapshotSeq; s++) ops.push({ type: 'del', key: this.key(s) })
    const snapshot = Y.encodeStateAsUpdate(this.doc)
    ops.push({ type: 'put', key: this.key(snapshotSeq), value: snapshot })
    this.write(ops)
    this.entries = 1
    this.snapshotBytes = snapshot.length
    this.tailBytes = 0
  }

  private write (ops: KvOp[]): void {
    this.pendingWrite = this.writer.write(ops).catch(err => { this.error = err as Error })
  }
}
