import { generateKey } from '@libp2p/pnet'
import type { KvStore } from '../crdt/index.js'
import { InvalidNetworkKeyError } from './errors.js'

/**
 * The team's optional pre-shared network key (libp2p's private-network protector): nodes
 * without it cannot complete a connection to the team's nodes. The text form is libp2p's
 * (a "/key/swarm/psk/1.0.0/" header, "/base16/", then 64 hex digits), so keys interoperate
 * with other libp2p tools.
 */
const HEADER = '/key/swarm/psk/1.0.0/\n/base16/\n'
const KEY_TEXT = /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n([0-9a-fA-F]{64})$/
const KV_KEY = 'identity!network-key'

export function generateNetworkKey (): string {
  const bytes = new Uint8Array(HEADER.length + 64)
  generateKey(bytes)
  return Buffer.from(bytes).toString('utf8')
}

/** Checks a key file's text and returns the key in the form the protector takes. */
export function parseNetworkKey (text: string, where = 'network key'): Uint8Array {
  const m = KEY_TEXT.exec(text.replace(/\r\n/g, '\n').trim())
  if (m == null) throw new InvalidNetworkKeyError(`${where} is not a network key; make one with 'outpost network-key > FILE'`)
  return Buffer.from(HEADER + m[1].toLowerCase())
}

export async function loadNetworkKey (kv: KvStore): Promise<Uint8Array | undefined> {
  return await kv.get(KV_KEY)
}

export async function storeNetworkKey (kv: KvStore, key: Uint8Array): Promise<void> {
  await kv.batch([{ type: 'put', key: KV_KEY, value: key }])
}
