import type { KvStore } from '../crdt/index.js'
import { verifySignature } from './trust/keys.js'

/**
 * Peers' key-exchange ("box") keys, as they sent them in sync HELLO, each signed by the
 * peer's identity key. Opening a direct-message group wraps its key to the other person's
 * box key, so it must be known first: two nodes learn each other's when they first meet.
 */
export interface SignedBox { key: string, sig: string }

const PREFIX = 'box!'

export function boxSigningBytes (key: string): Buffer {
  return Buffer.from(`outpost/box/2\n${key}`)
}

export class BoxBook {
  private readonly boxes = new Map<string, string>()
  /** per peer, the signature last verified over its current box key */
  private readonly verified = new Map<string, string>()

  constructor (private readonly kv: KvStore) {}

  async load (): Promise<void> {
    for await (const [key, value] of this.kv.entries({ gte: PREFIX, lt: PREFIX + '\xff' })) {
      this.boxes.set(key.slice(PREFIX.length), Buffer.from(value).toString('utf8'))
    }
  }

  get (peerId: string): string | undefined {
    return this.boxes.get(peerId)
  }

  /** Keeps a peer's box key if its signature verifies; false (and nothing kept) otherwise. */
  learn (peerId: string, box: SignedBox): boolean {
    if (box.key.length === 0 || box.key.length > 64) return false
    // Every sync exchange brings the peer's box again: a signature already checked over the
    // key we hold is not checked again (anti-entropy runs an exchange per peer every 10 s).
    if (this.boxes.get(peerId) === box.key && this.verified.get(peerId) === box.sig) return true
    if (!verifySignature(peerId, boxSigningBytes(box.key), Buffer.from(box.sig, 'base64'))) return false
    this.verified.set(peerId, box.sig)
    if (this.boxes.get(peerId) === box.key) return true
    this.boxes.set(peerId, box.key)
    this.kv.batch([{ type: 'put', key: PREFIX + peerId, value: Buffer.from(box.key) }]).catch(() => {})
    return true
  }
}
