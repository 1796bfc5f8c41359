import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { hostname, userInfo } from 'node:os'
import { MAX_NAME_LENGTH, type KvStore } from '../crdt/index.js'
import type { PrivateKey } from '@libp2p/interface'
import { InvalidRequestError, NotInitializedError } from './errors.js'
import { boxKeyFrom, newBoxKey, type BoxKey } from './trust/keys.js'

/** The user's identity is the node's libp2p Ed25519 key; the profile rides with it. */
export interface Profile {
  name: string
  title?: string
  department?: string
  /** the name was made up from the system's user name, not chosen: the UI asks for one */
  unnamed?: true
}

export interface Identity {
  privateKey: PrivateKey
  profile: Profile
  /** X25519 key that group keys are wrapped to (members learn its public half) */
  box: BoxKey
}

const KEY = 'identity!key'
const PROFILE = 'identity!profile'
const BOX = 'identity!box'

/** The box key, made on first use (data directories from before it existed get one too). */
async function loadBox (kv: KvStore): Promise<BoxKey> {
  const stored = await kv.get(BOX)
  if (stored != null) return boxKeyFrom(stored)
  const { pkcs8, box } = newBoxKey()
  await kv.batch([{ type: 'put', key: BOX, value: pkcs8 }])
  return box
}

export function defaultName (): string {
  try {
    return userInfo().username || hostname()
  } catch {
    return hostname()
  }
}

export function checkName (name: string): string {
  const trimmed = name.trim()
  if (trimmed.length === 0 || trimmed.length > MAX_NAME_LENGTH) {
    throw new InvalidRequestError(`a name must be 1 to ${MAX_NAME_LENGTH} characters`)
  }
  return trimmed
}

export async function loadIdentity (kv: KvStore): Promise<Identity> {
  const key = await kv.get(KEY)
  const profile = await kv.get(PROFILE)
  if (key == null || profile == null) throw new NotInitializedError('this data directory has no identity yet; run `outpost init`')
  return {
    privateKey: privateKeyFromProtobuf(key),
    profile: JSON.parse(Buffer.from(profile).toString('utf8')) as Profile,
    box: await loadBox(kv)
  }
}

/**
 * Creates the identity if there is none; with `name`, also sets the display name of an
 * existing identity (the key is never replaced).
 */
export async function initIdentity (kv: KvStore, name?: string): Promise<Identity> {
  let privateKey: PrivateKey
  const stored = await kv.get(KEY)
  if (stored != null) {
    privateKey = privateKeyFromProtobuf(stored)
  } else {
    privateKey = await generateKeyPair('Ed25519')
  }
  const existing = await kv.get(PROFILE)
  const profile: Profile = existing != null && name == null
    ? JSON.parse(Buffer.from(existing).toString('utf8')) as Profile
    : { name: checkName(name ?? defaultName()), ...(name == null ? { unnamed: true as const } : {}) }
  await kv.batch([
    { type: 'put', key: KEY, value: privateKeyToProtobuf(privateKey) },
    { type: 'put', key: PROFILE, value: Buffer.from(JSON.stringify(profile)) }
  ])
  return { privateKey, profile, box: await loadBox(kv) }
}

/** Sets the display name (chosen now); the key and the rest of the profile stay. */
export async function saveProfileName (kv: KvStore, identity: Identity, name: string): Promise<Profile> {
  const profile: Profile = { ...identity.profile, name: checkName(name) }
  delete profile.unnamed
  await kv.batch([{ type: 'put', key: PROFILE, value: Buffer.from(JSON.stringify(profile)) }])
  identity.profile = profile
  return profile
}
