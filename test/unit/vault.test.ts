import assert from 'node:assert/strict'
import { EncryptedKv, MemoryKv, UnreadableValueError } from '../../crdt/index.js'
import { CorruptVaultError, InvalidRequestError, PassphraseRequiredError, WrongPassphraseError } from '../../node/errors.js'
import { DEFAULT_SCRYPT, VAULT_RECORD, createVault, openVault, parseHeader, unlockVault, type ScryptParams } from '../../node/vault.js'

/** Cheap parameters for most tests; one test runs the real ones. */
const FAST: ScryptParams = { N: 2 ** 10, r: 8, p: 1 }

const snapshot = (kv: MemoryKv): Array<[string, number[]]> => [...kv.data].map(([k, v]) => [k, Array.from(v)])
const named = (name: string) => (e: Error) => e.name === name

async function plaintextDb (): Promise<MemoryKv> {
  const kv = new MemoryKv()
  await kv.batch([
    { type: 'put', key: 'identity!key', value: Buffer.from('private key bytes') },
    { type: 'put', key: 'doc!g!000000000001', value: Buffer.from('hello from the field') }
  ])
  return kv
}

describe('vault', () => {
  it('wraps a random data key with scrypt N=2^17, r=8, p=1 and unlocks it with the passphrase only', async function () {
    this.timeout(20_000)
    const { header, dataKey } = await createVault('correct horse')
    assert.deepEqual({ N: header.N, r: header.r, p: header.p }, DEFAULT_SCRYPT)
    assert.equal(DEFAULT_SCRYPT.N, 2 ** 17)
    assert.equal(Buffer.from(header.salt, 'base64').byteLength, 32)
    assert.deepEqual(Array.from(await unlockVault(header, 'correct horse')), Array.from(dataKey))
    await assert.rejects(unlockVault(header, 'correct horsE'), named(WrongPassphraseError.NAME))
    // The parameters are authenticated: changing them is not a way around the passphrase.
    await assert.rejects(unlockVault({ ...header, N: 2 ** 16 }, 'correct horse'), named(WrongPassphraseError.NAME))
  })

  it('encrypts a plaintext database in one batch, then needs the passphrase', async () => {
    const raw = await plaintextDb()
    const opened = await openVault(raw, { passphrase: 'pw', scrypt: FAST })
    assert.equal(opened.migrated, 2)
    assert.ok(opened.kv instanceof EncryptedKv)
    assert.equal(Buffer.from(await opened.kv.get('doc!g!000000000001') ?? []).toString(), 'hello from the field')
    for (const [key, value] of raw.data) {
      if (key !== VAULT_RECORD) assert.equal(Buffer.from(value).includes('hello'), false, key)
    }
    await assert.rejects(openVault(raw, {}), named(PassphraseRequiredError.NAME))
    const again = await openVault(raw, { passphrase: 'pw' })
    assert.equal(again.migrated, 0)
    assert.equal(Buffer.from(await again.kv.get('identity!key') ?? []).toString(), 'private key bytes')
  })

  it('refuses a wrong passphrase with WrongPassphraseError and writes nothing', async () => {
    const raw = await plaintextDb()
    await openVault(raw, { passphrase: 'right', scrypt: FAST })
    const before = snapshot(raw)
    await assert.rejects(openVault(raw, { passphrase: 'wrong' }), (e: Error) => e.name === WrongPassphraseError.NAME && /wrong passphrase/.test(e.message))
    assert.deepEqual(snapshot(raw), before)
  })

  it('refuses an empty passphrase before touching anything', async () => {
    const raw = await plaintextDb()
    const before = snapshot(raw)
    await assert.rejects(openVault(raw, { passphrase: '', scrypt: FAST }), (e: Error) => e.name === InvalidRequestError.NAME && /empty/.test(e.message))
    assert.deepEqual(snapshot(raw), before)
  })

  it('a plaintext database without a passphrase stays plaintext', async () => {
    const raw = await plaintextDb()
    const opened = await openVault(raw)
    assert.equal(opened.kv, raw)
    assert.equal(opened.header, null)
  })

  it('refuses a damaged vault record, and a value altered on disk', async () => {
    const raw = await plaintextDb()
    await openVault(raw, { passphrase: 'pw', scrypt: FAST })
    const record = raw.data.get(VAULT_RECORD) as Uint8Array
    assert.throws(() => parseHeader(Buffer.from('{"v":1}')), named(CorruptVaultError.NAME))
    assert.throws(() => parseHeader(Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(record).toString()), N: 2 ** 30 }))), named(CorruptVaultError.NAME))
    const value = raw.data.get('identity!key') as Uint8Array
    value[value.byteLength - 1] ^= 1
    const opened = await openVault(raw, { passphrase: 'pw' })
    await assert.rejects(opened.kv.get('identity!key'), named(UnreadableValueError.NAME))
  })
})
