import * as Y from 'yjs'

/** Where a change came from; passed to listeners so the node knows what to publish. */
export type ChangeOrigin = 'local' | 'remote' | 'storage'

/** A change's bytes (a Yjs V1 update): what storage appends, and gossip publishes when local. */
export type UpdateListener = (update: Uint8Array, origin: ChangeOrigin) => void

export const changeOrigin = (origin: unknown): ChangeOrigin => origin === 'local' ? 'local' : origin === 'storage' ? 'storage' : 'remote'

/** A received update applied as it came: the transaction applying it, and whether that changed anything. */
interface AsIs { update: Uint8Array, txn: Y.Transaction | null, changed: boolean }

/**
 * A document's changes as update bytes, for storage and gossip. Yjs encodes a
 * transaction's update whenever anyone listens for its `update` event. A received update
 * that integrates whole (`applyWhole`) is already that encoding: it is handed on as it came,
 * and Yjs is not asked for that one transaction (measured: 74 ms of a 10,000-message cold
 * join, and part of every gossiped message's cost). Every other transaction, nested ones
 * written by listeners during such an apply included, is encoded by Yjs as before.
 */
export class UpdateFeed {
  private readonly listeners = new Set<UpdateListener>()
  /** whether Yjs is asked for each transaction's update */
  private hearing = false
  private readonly onYjsUpdate = (update: Uint8Array, origin: unknown): void => { this.emit(update, origin) }
  /** a received update being applied as it came */
  private asIs: AsIs | null = null

  constructor (private readonly doc: Y.Doc) {
    doc.on('beforeTransaction', (txn: Y.Transaction) => { if (this.asIs != null) this.asIs.txn ??= txn })
    // Yjs emits a transaction's update right after this event, and encodes it only if someone listens.
    doc.on('afterTransactionCleanup', (txn: Y.Transaction) => {
      const asIs = this.asIs?.txn === txn ? this.asIs : null
      if (asIs != null) asIs.changed = txn.changed.size > 0 || txn.deleteSet.clients.size > 0
      this.hear(asIs == null && this.listeners.size > 0)
    })
  }

  /** Every change's bytes from now on; returns how to stop. */
  subscribe (listener: UpdateListener): () => void {
    this.listeners.add(listener)
    this.hear(true)
    return () => {
      this.listeners.delete(listener)
      this.hear(this.listeners.size > 0)
    }
  }

  /**
   * Y.applyUpdate, for an update that starts, for every client, at the clock in `starts`:
   * when that is exactly where the document stands and nothing waits for missing changes,
   * all of it is integrated, and it is handed on as it came. Throws what Y.applyUpdate throws.
   */
  apply (update: Uint8Array, origin: ChangeOrigin, starts: ReadonlyMap<number, number>): void {
    const asIs: AsIs | null = this.takesWhole(starts) ? { update, txn: null, changed: false } : null
    this.asIs = asIs
    try {
      Y.applyUpdate(this.doc, update, origin)
      if (asIs?.changed === true) this.emit(update, origin)
    } catch (err) {
      // Whatever was integrated before it failed, encoded by Yjs from where the transaction began.
      if (asIs?.txn != null && asIs.changed) this.emit(Y.encodeStateAsUpdate(this.doc, Y.encodeStateVector(asIs.txn.beforeState)), origin)
      throw err
    } finally {
      this.asIs = null
    }
  }

  close (): void {
    this.listeners.clear()
    this.hear(false)
  }

  /** Whether all of an update starting at `starts` integrates at once: no overlap with what is held, no gap, nothing pending. */
  private takesWhole (starts: ReadonlyMap<number, number>): boolean {
    const store = this.doc.store
    if (store.pendingStructs != null || store.pendingDs != null) return false
    for (const [client, clock] of starts) if (Y.getState(store, client) !== clock) return false
    return true
  }

  private hear (on: boolean): void {
    if (on === this.hearing) return
    this.hearing = on
    if (on) this.doc.on('update', this.onYjsUpdate)
    else this.doc.off('update', this.onYjsUpdate)
  }

  private emit (update: Uint8Array, origin: unknown): void {
    const o = changeOrigin(origin)
    for (const listener of this.listeners) listener(update, o)
  }
}
