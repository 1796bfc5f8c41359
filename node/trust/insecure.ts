import type { DocCrypto } from '../../crdt/index.js'
import { unwrap, type BoxKey } from './keys.js'

const NO_SIGNATURE = new Uint8Array(64)

/**
 * Signatures and encryption turned off, for the benchmark that measures what they cost.
 * A node built with it accepts anything and hides nothing; nothing but the benchmark uses it.
 */
export function insecureCrypto (self: string, box: BoxKey): DocCrypto {
  return {
    self,
    verify: () => true,
    sign: () => NO_SIGNATURE,
    unwrap: (groupId, keyId, wrapped) => unwrap(groupId, keyId, wrapped, box),
    seal: (_key, plain) => plain,
    open: (_key, sealed) => sealed
  }
}
