import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { Level } from 'level'
import { DataDir } from '../../node/data-dir.js'
import { killAll, runCli, startDaemon } from '../helpers/cli.js'
import { removeDir, tempDir } from '../helpers/nodes.js'

/** Loopback only and no mDNS. */
const LOCAL = ['--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0']
const GROUP_NAME = 'Kestrel expedition 9QZ'
const TEXT = 'rendezvous at grid NV 4471 after the ridge, bring the blue case'

interface Json { [key: string]: any }

function assertFails (r: { code: number | null, stdout: string, stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit status; stderr: ${r.stderr}`)
  assert.equal(r.stdout, '')
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line on stderr, got: ${r.stderr}`)
  assert.match(r.stderr, pattern)
}

/** Every file under `dir`, by relative path, with its bytes. */
async function readAll (dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>()
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const path = join(dir, name)
    if ((await stat(path)).isFile()) files.set(name, await readFile(path))
  }
  return files
}

async function hashes (dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const [name, bytes] of await readAll(dir)) out[name] = createHash('sha256').update(bytes).digest('hex')
  return out
}

/** Every value of the data directory's LevelDB, decoded, opened directly (no Outpost code). */
async function rawValues (dir: string): Promise<Map<string, Buffer>> {
  const db = new Level<string, Uint8Array>(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
  const values = new Map<string, Buffer>()
  try {
    for await (const [key, value] of db.iterator()) values.set(key, Buffer.from(value))
  } finally {
    await db.close()
  }
  return values
}

/** The 32 secret bytes of the node's Ed25519 key, read through Outpost's own storage. */
async function identitySecret (dir: string, passphrase?: string): Promise<Buffer> {
  const kv = await new DataDir(dir).openDb({ passphrase })
  try {
    const stored = await kv.get('identity!key')
    assert.ok(stored != null)
    return Buffer.from(privateKeyFromProtobuf(stored).raw.subarray(0, 32))
  } finally {
    await kv.close()
  }
}

/** Where each needle appears: file or key names. */
function findIn (haystacks: Map<string, Buffer>, needles: Record<string, Buffer>): Record<string, string[]> {
  const found: Record<string, string[]> = {}
  for (const [what, needle] of Object.entries(needles)) {
    found[what] = [...haystacks].filter(([, bytes]) => bytes.includes(needle)).map(([name]) => name)
  }
  return found
}

describe('encryption at rest (CLI, real processes)', function () {
  this.timeout(90_000)
  let root: string
  let enc: string
  let plain: string
  let passFile: string
  let groupId: string
  let plainGroupId: string

  before(async () => {
    root = await tempDir('outpost-vault-')
    enc = join(root, 'enc')
    plain = join(root, 'plain')
    passFile = join(root, 'passphrase')
    await writeFile(passFile, 'lantern orchard 1987 vellum\n')
  })

  after(async () => {
    await killAll()
    await removeDir(root)
  })

  /** init, start, create a group, send one message, clean stop. */
  async function populate (dir: string, extra: string[]): Promise<string> {
    const init = await runCli(['init', '--name', 'Alice', ...extra], { dataDir: dir })
    assert.equal(init.code, 0, init.stderr)
    assert.equal((init.json as Json).encrypted, extra.length > 0)
    const node = await startDaemon({ dataDir: dir, args: [...LOCAL, ...extra] })
    const created = await runCli(['group', 'create', GROUP_NAME], { dataDir: dir })
    assert.equal(created.code, 0, created.stderr)
    const sent = await runCli(['send', (created.json as Json).groupId, TEXT], { dataDir: dir })
    assert.equal(sent.code, 0, sent.stderr)
    assert.equal((await node.stop()).code, 0)
    return (created.json as Json).groupId
  }

  it('init and start with --passphrase-file; send and stop as usual', async () => {
    groupId = await populate(enc, ['--passphrase-file', passFile])
  })

  it('a wrong passphrase: one clear line, non-zero exit, every file byte-identical', async () => {
    const bad = join(root, 'bad-passphrase')
    await writeFile(bad, 'lantern orchard 1987 velum\n')
    const before = await hashes(enc)
    assertFails(await runCli(['start', ...LOCAL, '--passphrase-file', bad], { dataDir: enc }), /wrong passphrase.*nothing was changed/)
    assertFails(await runCli(['init', '--passphrase-file', bad], { dataDir: enc }), /wrong passphrase/)
    assert.deepEqual(await hashes(enc), before)
  })

  it('no passphrase and no terminal: one line saying to pass --passphrase-file, nothing changed', async () => {
    const before = await hashes(enc)
    assertFails(await runCli(['start', ...LOCAL], { dataDir: enc }), /is encrypted; give its passphrase with --passphrase-file FILE/)
    assertFails(await runCli(['init'], { dataDir: enc }), /is encrypted; give its passphrase with --passphrase-file FILE/)
    const empty = join(root, 'empty-passphrase')
    await writeFile(empty, '\n')
    assertFails(await runCli(['start', ...LOCAL, '--passphrase-file', empty], { dataDir: enc }), /passphrase file .* is empty/)
    assert.deepEqual(await hashes(enc), before)
  })

  it('the files and the database values hold no message text, group name or private key', async () => {
    const files = await readAll(enc)
    const values = await rawValues(enc)
    const secret = await identitySecret(enc, 'lantern orchard 1987 vellum')
    const needles = { text: Buffer.from(TEXT), groupName: Buffer.from(GROUP_NAME), identitySecret: secret }
    assert.deepEqual(findIn(files, needles), { text: [], groupName: [], identitySecret: [] })
    assert.deepEqual(findIn(values, needles), { text: [], groupName: [], identitySecret: [] })
    // Everything but the vault record is sealed: the version byte, then nonce, ciphertext, tag.
    assert.ok(values.has('identity!key') && values.has(`group!${groupId}`))
    for (const [key, value] of values) {
      if (key !== 'vault!meta') assert.ok(value[0] === 1 && value.byteLength >= 29, key)
    }
  })

  it('control: without a passphrase the keys and group name are in the clear (bodies stay sealed with the group key, which those keys open)', async () => {
    plainGroupId = await populate(plain, [])
    const secret = await identitySecret(plain)
    const needles = { text: Buffer.from(TEXT), groupName: Buffer.from(GROUP_NAME), identitySecret: secret }
    const inValues = findIn(await rawValues(plain), needles)
    assert.deepEqual(inValues.identitySecret, ['identity!key'])
    assert.ok(inValues.groupName.length > 0, JSON.stringify(inValues))
    // Message bodies are sealed with the group key even here; what at-rest encryption adds
    // is that the keys which open them (identity!key, identity!box) are sealed too.
    assert.deepEqual(inValues.text, [])
    assert.ok((await rawValues(plain)).has('identity!box'))
    const inFiles = findIn(await readAll(plain), needles)
    assert.ok(inFiles.identitySecret.length > 0 && inFiles.groupName.length > 0, JSON.stringify(inFiles))
  })

  it('a passphrase given for a plaintext directory encrypts it; no plaintext is left in its files', async () => {
    const secret = await identitySecret(plain)
    const migrated = await runCli(['init', '--passphrase-file', passFile], { dataDir: plain })
    assert.equal(migrated.code, 0, migrated.stderr)
    assert.equal((migrated.json as Json).encrypted, true)
    const needles = { text: Buffer.from(TEXT), groupName: Buffer.from(GROUP_NAME), identitySecret: secret }
    assert.deepEqual(findIn(await readAll(plain), needles), { text: [], groupName: [], identitySecret: [] })
    const node = await startDaemon({ dataDir: plain, args: [...LOCAL, '--passphrase-file', passFile] })
    const history = (await runCli(['history', plainGroupId], { dataDir: plain })).json as Json[]
    assert.deepEqual(history.map(m => m.text), [TEXT])
    await node.stop()
  })

  it('with the right passphrase the node starts and the history is all there', async () => {
    const node = await startDaemon({ dataDir: enc, args: [...LOCAL, '--passphrase-file', passFile] })
    const history = (await runCli(['history', groupId], { dataDir: enc })).json as Json[]
    assert.deepEqual(history.map(m => [m.text, m.authorName]), [[TEXT, 'Alice']])
    const groups = (await runCli(['group', 'list'], { dataDir: enc })).json as Json[]
    assert.deepEqual(groups.map(g => g.name), [GROUP_NAME])
    assert.equal((await node.stop()).code, 0)
  })
})
