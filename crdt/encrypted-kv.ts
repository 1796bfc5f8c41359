import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { UnreadableValueError } from './errors.js'
import type { KvOp, KvRange, KvStore } from './kv.js'

/** Layout of a sealed value: [VERSION][nonce][ciphertext][tag]. */
const VERSION = 1
const NONCE_BYTES = 12
const TAG_BYTES = 16
export const DATA_KEY_BYTES = 32
/** What sealing adds to every value. */
export const SEAL_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES

/**
 * Encryption at rest for any KvStore: every value is sealed with AES-256-GCM under a 32-byte
 * data key, with a fresh random nonce per write. The key string is authenticated with the
 * value, so a value copied or moved to another key fails to open instead of being read as
 * that key's value.
 *
 * Keys stay in plaintext: they must keep their order for range scans, and by design they
 * hold only record kinds, ids and sequence numbers (`identity!key`, `group!ID`,
 * `peer!PEERID`, `doc!GROUP!SEQ`), never names or content. Value sizes are visible too.
 * Random 96-bit nonces stay far from collision for the writes one node makes in its life
 * (NIST's bound is 2^32 messages per key).
 */
export class EncryptedKv implements KvStore {
  private readonly key: Buffer

  constructor (private readonly inner: KvStore, dataKey: Uint8Array) {
    if (dataKey.byteLength !== DATA_KEY_BYTES) throw new RangeError(`the data key must be ${DATA_KEY_BYTES} bytes`)
    this.key = Buffer.from(dataKey)
  }

  async get (key: string): Promise<Uint8Array | undefined> {
    const sealed = await this.inner.get(key)
    return sealed == null ? undefined : openValue(this.key, key, sealed)
  }

  async batch (ops: KvOp[]): Promise<void> {
    await this.inner.batch(ops.map(op => op.type === 'put' ? { ...op, value: sealValue(this.key, op.key, op.value) } : op))
  }

  async * entries (range: KvRange): AsyncIterable<[string, Uint8Array]> {
    for await (const [key, sealed] of this.inner.entries(range)) yield [key, openValue(this.key, key, sealed)]
  }

  async close (): Promise<void> {
    await this.inner.close()
  }
}

/** The version byte and the key are authenticated with the value. */
function aad (key: string): Buffer {
  return Buffer.concat([Uint8Array.of(VERSION), Buffer.from(key, 'utf8')])
}

export function sealValue (dataKey: Uint8Array, key: string, value: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', dataKey, nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(aad(key))
  const body = Buffer.concat([cipher.update(value), cipher.final()])
  return Buffer.concat([Uint8Array.of(VERSION), nonce, body, cipher.getAuthTag()])
}

export function openValue (dataKey: Uint8Array, key: string, sealed: Uint8Array): Uint8Array {
  const unreadable = (why: string): UnreadableValueError =>
    new UnreadableValueError(`the stored value of '${key}' cannot be decrypted (${why}); the database was altered or is not this vault's`)
  if (sealed.byteLength < SEAL_OVERHEAD) throw unreadable('too short')
  if (sealed[0] !== VERSION) throw unreadable(`unknown format version ${sealed[0]}`)
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
  const decipher = createDecipheriv('aes-256-gcm', dataKey, bytes.subarray(1, 1 + NONCE_BYTES), { authTagLength: TAG_BYTES })
  decipher.setAAD(aad(key))
  decipher.setAuthTag(bytes.subarray(bytes.byteLength - TAG_BYTES))
  try {
    return Buffer.concat([decipher.update(bytes.subarray(1 + NONCE_BYTES, bytes.byteLength - TAG_BYTES)), decipher.final()])
  } catch {
    throw unreadable('authentication failed')
  }
}
