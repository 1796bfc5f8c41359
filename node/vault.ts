import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { DATA_KEY_BYTES, EncryptedKv, sealValue, type KvOp, type KvStore } from '../crdt/index.js'
import { CorruptVaultError, InvalidRequestError, PassphraseRequiredError, WrongPassphraseError } from './errors.js'

/**
 * Encryption at rest. A random 32-byte data key encrypts every value in the database (see
 * crdt/EncryptedKv); the data key itself is stored wrapped (AES-256-GCM) under a key
 * derived from the passphrase with scrypt. Changing the passphrase would only rewrap the
 * data key. The wrapped key, salt and parameters (the header) are the one plaintext record,
 * `vault!meta`; a copy sits in the data directory's `vault.json` so that a passphrase can be
 * checked before LevelDB is opened (opening it rewrites its files).
 */
export const VAULT_RECORD = 'vault!meta'

export interface ScryptParams {
  /** cost: a power of two */
  N: number
  r: number
  p: number
}

/**
 * 128 MiB of memory (128·N·r) and about 0.3 s to unlock on the 2-core development machine:
 * paid once per start, and it makes each passphrase guess cost the same.
 */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 }
const SALT_BYTES = 32
const NONCE_BYTES = 12
const TAG_BYTES = 16
/** Refuse headers that would make unlocking take minutes or gigabytes. */
const MAX_N = 2 ** 20
const MAX_R = 32
const MAX_P = 16

export interface VaultHeader {
  v: 1
  kdf: 'scrypt'
  N: number
  r: number
  p: number
  /** base64 */
  salt: string
  /** base64 */
  nonce: string
  /** base64: the data key, encrypted, then the 16-byte tag */
  wrappedKey: string
}

export interface UnlockedVault {
  header: VaultHeader
  dataKey: Uint8Array
}

/** Empty passphrases are refused; NFC so the same passphrase typed on another system matches. */
export function checkPassphrase (passphrase: string): string {
  if (passphrase.length === 0) throw new InvalidRequestError('the passphrase is empty')
  return passphrase.normalize('NFC')
}

async function deriveKey (passphrase: string, salt: Uint8Array, { N, r, p }: ScryptParams): Promise<Buffer> {
  return await new Promise((resolve, reject) => {
    // maxmem: scrypt needs 128·N·r bytes; Node's default limit (32 MiB) is below that.
    scrypt(checkPassphrase(passphrase), salt, 32, { N, r, p, maxmem: 256 * N * r }, (err, key) => { err != null ? reject(err) : resolve(key) })
  })
}

/** The parameters are authenticated with the wrapped key. */
function wrapAad (h: Pick<VaultHeader, 'v' | 'N' | 'r' | 'p'>): Buffer {
  return Buffer.from(`outpost-vault:${h.v}:scrypt:${h.N}:${h.r}:${h.p}`)
}

/** A new vault: a random data key wrapped under `passphrase`. */
export async function createVault (passphrase: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<UnlockedVault> {
  const salt = randomBytes(SALT_BYTES)
  const nonce = randomBytes(NONCE_BYTES)
  const dataKey = randomBytes(DATA_KEY_BYTES)
  const base = { v: 1 as const, kdf: 'scrypt' as const, ...params }
  const cipher = createCipheriv('aes-256-gcm', await deriveKey(passphrase, salt, params), nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(wrapAad(base))
  const wrapped = Buffer.concat([cipher.update(dataKey), cipher.final(), cipher.getAuthTag()])
  const header: VaultHeader = { ...base, salt: salt.toString('base64'), nonce: nonce.toString('base64'), wrappedKey: wrapped.toString('base64') }
  return { header, dataKey }
}

/** The data key; WrongPassphraseError when the passphrase does not authenticate. */
export async function unlockVault (header: VaultHeader, passphrase: string): Promise<Uint8Array> {
  const wrapped = Buffer.from(header.wrappedKey, 'base64')
  const kek = await deriveKey(passphrase, Buffer.from(header.salt, 'base64'), header)
  const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(header.nonce, 'base64'), { authTagLength: TAG_BYTES })
  decipher.setAAD(wrapAad(header))
  decipher.setAuthTag(wrapped.subarray(DATA_KEY_BYTES))
  try {
    return Buffer.concat([decipher.update(wrapped.subarray(0, DATA_KEY_BYTES)), decipher.final()])
  } catch {
    throw new WrongPassphraseError('wrong passphrase: it does not unlock this data directory (nothing was changed)')
  }
}

export function encodeHeader (header: VaultHeader): Uint8Array {
  return Buffer.from(JSON.stringify(header))
}

export function parseHeader (bytes: Uint8Array | string, where = 'the vault record'): VaultHeader {
  let h: Partial<VaultHeader>
  try {
    h = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'))
  } catch {
    h = {}
  }
  const b64 = (s: unknown, bytes: number): boolean => typeof s === 'string' && Buffer.from(s, 'base64').byteLength === bytes
  const int = (n: unknown, max: number): boolean => Number.isSafeInteger(n) && (n as number) >= 1 && (n as number) <= max
  if (h.v !== 1 || h.kdf !== 'scrypt' || !int(h.N, MAX_N) || ((h.N as number) & ((h.N as number) - 1)) !== 0 || h.N === 1 ||
      !int(h.r, MAX_R) || !int(h.p, MAX_P) || !b64(h.salt, SALT_BYTES) || !b64(h.nonce, NONCE_BYTES) || !b64(h.wrappedKey, DATA_KEY_BYTES + TAG_BYTES)) {
    throw new CorruptVaultError(`${where} is damaged or of an unknown version; the data directory cannot be unlocked`)
  }
  return h as VaultHeader
}

export function sameHeader (a: VaultHeader | null | undefined, b: VaultHeader | null | undefined): boolean {
  return a != null && b != null && Buffer.from(encodeHeader(a)).equals(encodeHeader(b))
}

export async function readVaultFile (file: string): Promise<VaultHeader | null> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  return parseHeader(text, file)
}

export async function writeVaultFile (file: string, header: VaultHeader): Promise<void> {
  // Write and rename, so a crash never leaves half a header.
  await writeFile(file + '.tmp', JSON.stringify(header) + '\n', { mode: 0o600 })
  await rename(file + '.tmp', file)
}

export interface OpenVaultOptions {
  /** none: the database must be plaintext */
  passphrase?: string
  /** a header already unlocked with `passphrase` (the vault file's), to skip a second scrypt */
  unlocked?: UnlockedVault
  /** for a new vault */
  scrypt?: ScryptParams
  /** names the data directory in errors */
  where?: string
}

export interface OpenedVault {
  /** the store the node uses: encrypted when there is a vault */
  kv: KvStore
  header: VaultHeader | null
  /** values encrypted now because the database held plaintext */
  migrated: number
}

/**
 * The database as the node should use it. With a vault record: its passphrase is required
 * and values are encrypted. Without one and without a passphrase: plaintext, as before.
 * Without one and with a passphrase: a vault is created (or the unlocked one is used), and
 * every existing value is encrypted in the same atomic batch that writes the vault record,
 * so a crash leaves either the old plaintext database or the encrypted one.
 */
export async function openVault (raw: KvStore, options: OpenVaultOptions = {}): Promise<OpenedVault> {
  const { passphrase, unlocked } = options
  const stored = await raw.get(VAULT_RECORD)
  if (stored != null) {
    const header = parseHeader(stored)
    if (passphrase == null) throw new PassphraseRequiredError(passphraseRequired(options.where))
    const dataKey = unlocked != null && sameHeader(unlocked.header, header) ? unlocked.dataKey : await unlockVault(header, passphrase)
    return { kv: new EncryptedKv(raw, dataKey), header, migrated: 0 }
  }
  if (passphrase == null) return { kv: raw, header: null, migrated: 0 }
  const { header, dataKey } = unlocked ?? await createVault(passphrase, options.scrypt)
  const ops: KvOp[] = []
  for await (const [key, value] of raw.entries({ gte: '', lt: '\uffff' })) {
    ops.push({ type: 'put', key, value: sealValue(dataKey, key, value) })
  }
  const migrated = ops.length
  ops.push({ type: 'put', key: VAULT_RECORD, value: encodeHeader(header) })
  await raw.batch(ops)
  return { kv: new EncryptedKv(raw, dataKey), header, migrated }
}

export function passphraseRequired (where = 'this data directory'): string {
  return `${where} is encrypted; give its passphrase with --passphrase-file FILE (or type it at the prompt in a terminal)`
}
