import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { SEAL_OVERHEAD, type OutpostNode } from '../../node/index.js'
import { CHUNK_STRIDE, CHUNKS_FILE, type FileStatus } from '../../node/files/index.js'
import { removeDir, startNode, tempDir, waitFor } from '../helpers/nodes.js'

const MiB = 1024 * 1024
const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex')

async function * pieces (data: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size)
}

async function contentOf (node: OutpostNode, fileId: string): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const part of node.files.content(fileId).chunks) parts.push(part)
  return Buffer.concat(parts)
}

async function fetched (node: OutpostNode, fileId: string): Promise<FileStatus> {
  node.files.fetch(fileId)
  await waitFor(`${node.name} to fetch ${fileId}`, () => node.files.status(fileId).state === 'complete', 60_000)
  return node.files.status(fileId)
}

describe('files between nodes', function () {
  this.timeout(120_000)
  const nodes: OutpostNode[] = []
  const dirs: string[] = []
  let groupId = ''
  after(async () => {
    await Promise.all(nodes.map(async n => { await n.stop() }))
    for (const dir of dirs) await removeDir(dir)
  })

  const start = async (name: string, init: { maxFileBytes?: number, dataDir?: string } = {}): Promise<OutpostNode> => {
    const node = await startNode({ name, syncIntervalMs: 500, ...init })
    for (const other of nodes) node.discovery.addPeer(other.peerId, other.addrs)
    nodes.push(node)
    return node
  }

  before(async () => {
    const [ann, ben, cid] = [await start('ann'), await start('ben'), await start('cid')]
    const created = await ann.createGroup('files')
    groupId = created.groupId
    for (const n of [ben, cid]) assert.equal((await n.joinGroup(created.invite)).admitted, true)
  })

  it('a file sent on one node is fetched on two others, the second from both at once, and matches', async () => {
    const [ann, ben, cid] = nodes
    const data = randomBytes(24 * MiB + 12345)
    const { message, fileId } = await ann.sendFile(groupId, pieces(data), { name: 'survey.bin', text: 'the survey data' })
    assert.deepEqual(message.file, { id: fileId, name: 'survey.bin', size: data.length, mime: 'application/octet-stream', sha256: sha(data) })
    await waitFor('the message on ben and cid', () => [ben, cid].every(n => n.history(groupId).some(m => m.file?.id === fileId)))
    assert.equal(ben.files.status(fileId).state, 'remote')
    const onBen = await fetched(ben, fileId)
    assert.equal(onBen.sources?.find(s => s.peerId === ann.peerId)?.chunks, 25)
    assert.equal(sha(await contentOf(ben, fileId)), sha(data))
    const onCid = await fetched(cid, fileId)
    for (const source of [ann, ben]) {
      assert.ok((onCid.sources?.find(s => s.peerId === source.peerId)?.chunks ?? 0) > 0, `cid fetched chunks from ${source.name}: ${JSON.stringify(onCid.sources)}`)
    }
    assert.equal(sha(await contentOf(cid, fileId)), sha(data))
  })

  it('a chunk corrupted on one source is detected and fetched from another', async () => {
    const [ann, ben] = nodes
    const dee = await start('dee')
    assert.equal((await dee.joinGroup(ann.invite(groupId))).admitted, true)
    const data = randomBytes(16 * MiB)
    const { fileId } = await ann.sendFile(groupId, pieces(data), { name: 'map.tif' })
    await waitFor('the message on ben and dee', () => [ben, dee].every(n => n.history(groupId).some(m => m.file?.id === fileId)))
    await fetched(ben, fileId)
    // Damage every chunk ben holds on disk (as a failing disk would), while it runs.
    const onDisk = join(ben.files.store.dir, fileId, CHUNKS_FILE)
    const bytes = await readFile(onDisk)
    for (let i = 0; i < 16; i++) bytes[i * CHUNK_STRIDE + 100] ^= 0xff
    await writeFile(onDisk, bytes)
    const status = await fetched(dee, fileId)
    const fromBen = status.sources?.find(s => s.peerId === ben.peerId)
    assert.ok((fromBen?.corrupt ?? 0) > 0, `dee saw ben's damaged chunks: ${JSON.stringify(status.sources)}`)
    assert.equal(status.sources?.find(s => s.peerId === ann.peerId)?.corrupt, 0)
    assert.equal(sha(await contentOf(dee, fileId)), sha(data))
  })

  it('a member naming someone else\'s file with a false key and hash cannot get it thrown away', async () => {
    const [ann, ben] = nodes
    const data = randomBytes(2 * MiB + 1)
    const { message, fileId } = await ann.sendFile(groupId, pieces(data), { name: 'real.bin' })
    const real = ann.groups.require(groupId).doc.get(message.id as never)?.file
    assert.ok(real != null)
    // Ben posts the same file id, described with another key and hash.
    await ben.conversations.send(groupId, 'not what it seems', { file: { ...real, name: 'fake.bin', key: randomBytes(32).toString('base64'), sha256: 'f'.repeat(64) } })
    // Ann forwards her file again and deletes the first post: now the false one comes first.
    await waitFor('the false post on ann', () => ann.history(groupId).filter(m => m.file?.id === fileId).length === 2)
    await ann.conversations.send(groupId, 'again', { file: real })
    await ann.deleteMessage(groupId, message.id)
    const gus = await start('gus')
    assert.equal((await gus.joinGroup(ann.invite(groupId))).admitted, true)
    await waitFor('both messages on gus', () => gus.history(groupId).filter(m => m.file?.id === fileId).length === 2)
    assert.equal(gus.files.status(fileId).name, 'fake.bin', 'the false description is the first gus knows')
    const status = await fetched(gus, fileId)
    assert.deepEqual([status.name, status.sha256], ['real.bin', sha(data)])
    assert.equal(sha(await contentOf(gus, fileId)), sha(data))
  })

  it('an image gets a thumbnail in its message; the name and type come from the sender', async () => {
    const [ann, ben] = nodes
    const png = await sharp({ create: { width: 1200, height: 800, channels: 3, background: { r: 10, g: 120, b: 200 } } }).png().toBuffer()
    const { message, fileId } = await ann.sendFile(groupId, pieces(png), { name: '现场照片.png', size: png.length })
    assert.equal(message.file?.mime, 'image/png')
    assert.equal(message.file?.name, '现场照片.png')
    assert.deepEqual(message.file?.thumbnail, { mime: 'image/webp', width: 320, height: 213 })
    await waitFor('the message on ben', () => ben.history(groupId).some(m => m.file?.id === fileId))
    // Before anything is fetched, the thumbnail is there: it rides in the message.
    const thumb = ben.files.thumbnail(fileId)
    const meta = await sharp(thumb.data).metadata()
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 320, 213])
  })

  it('files over the size limit are refused with a clear error, on sending and on fetching', async () => {
    const [ann] = nodes
    const small = await start('eli', { maxFileBytes: 2 * MiB })
    assert.equal((await small.joinGroup(ann.invite(groupId))).admitted, true)
    const tooBig = randomBytes(3 * MiB)
    await assert.rejects(small.sendFile(groupId, pieces(tooBig), { name: 'big.bin', size: tooBig.length }), (e: Error) => e.name === 'FileTooLargeError' && /big\.bin is 3\.00 MiB; this node sends and fetches files up to 2\.00 MiB/.test(e.message))
    // Without a size announced, the limit stops the import part way and nothing is kept.
    await assert.rejects(small.sendFile(groupId, pieces(tooBig), { name: 'big.bin' }), (e: Error) => e.name === 'FileTooLargeError')
    assert.equal(small.files.store.list().length, 0)
    const { fileId } = await ann.sendFile(groupId, pieces(tooBig), { name: 'big.bin' })
    await waitFor('the message on eli', () => small.history(groupId).some(m => m.file?.id === fileId))
    assert.throws(() => small.files.fetch(fileId), (e: Error) => e.name === 'FileTooLargeError')
  })

  it('deleting the message erases the file from every node that held it', async () => {
    const [ann, ben, cid] = nodes
    const data = randomBytes(3 * MiB)
    const { message, fileId } = await ann.sendFile(groupId, pieces(data), { name: 'draft.pdf' })
    await waitFor('the message on ben', () => ben.history(groupId).some(m => m.file?.id === fileId))
    await fetched(ben, fileId)
    const onBen = join(ben.files.store.dir, fileId)
    await stat(onBen)
    await ann.deleteMessage(groupId, message.id)
    await waitFor('the file gone from ann and ben', async () => {
      const gone = await Promise.all([ann, ben].map(async n => await stat(join(n.files.store.dir, fileId)).then(() => false, () => true)))
      return gone.every(Boolean)
    })
    for (const n of [ann, ben, cid]) assert.throws(() => n.files.status(fileId), (e: Error) => e.name === 'UnknownFileError')
  })

  it('a download stopped by a restart goes on from where it was', async () => {
    const [ann] = nodes
    const dir = await tempDir('outpost-files-')
    dirs.push(dir)
    let fay = await start('fay', { dataDir: dir })
    assert.equal((await fay.joinGroup(ann.invite(groupId))).admitted, true)
    const data = randomBytes(96 * MiB)
    const { fileId } = await ann.sendFile(groupId, pieces(data), { name: 'archive.tar' })
    await waitFor('the message on fay', () => fay.history(groupId).some(m => m.file?.id === fileId))
    fay.files.fetch(fileId)
    await waitFor('fay to hold some of it', () => fay.files.status(fileId).chunks.held >= 8, 30_000, 1)
    await fay.stop()
    nodes.splice(nodes.indexOf(fay), 1)
    const heldAtStop = (await readFile(join(dir, 'files', fileId, 'have'))).reduce((n, byte) => n + popcount(byte), 0)
    assert.ok(heldAtStop >= 8 && heldAtStop < 97, `held ${heldAtStop} of 97 chunks at the stop`)
    fay = await start('fay', { dataDir: dir })
    // The restarted node resumes by itself.
    await waitFor('fay to finish', () => fay.files.status(fileId).state === 'complete', 60_000)
    const status = fay.files.status(fileId)
    assert.ok((status.fetchedBytes ?? 0) <= (97 - heldAtStop) * (MiB + 28), `fetched ${status.fetchedBytes} bytes after the restart, for ${97 - heldAtStop} missing chunks`)
    assert.equal(sha(await contentOf(fay, fileId)), sha(data))
  })

  it('a chunk damaged on disk before the file was verified is found, fetched again, and the file completes', async () => {
    const ann = nodes[0]
    const dataDir = await tempDir()
    dirs.push(dataDir)
    const dee = await start('dee', { dataDir })
    assert.equal((await dee.joinGroup(ann.invite(groupId))).admitted, true)
    const data = randomBytes(4 * MiB + 5)
    const { fileId } = await ann.sendFile(groupId, pieces(data), { name: 'damaged.bin' })
    await waitFor('the message on dee', () => dee.history(groupId).some(m => m.file?.id === fileId))
    await fetched(dee, fileId)
    await dee.stop()
    nodes.splice(nodes.indexOf(dee), 1)
    // As after a crash between the last chunk and the verification: one byte of chunk 2 flipped.
    const dir = join(dataDir, 'files', fileId)
    const bytes = await readFile(join(dir, CHUNKS_FILE))
    bytes[2 * CHUNK_STRIDE + 100] ^= 0xff
    await writeFile(join(dir, CHUNKS_FILE), bytes)
    await writeFile(join(dir, 'meta.json'), JSON.stringify({ wanted: true, verified: false }))

    const again = await start('dee', { dataDir })
    await waitFor('dee to verify, fetch the damaged chunk again and complete', () => again.files.status(fileId).state === 'complete', 60_000)
    assert.equal(again.files.status(fileId).fetchedBytes, MiB + SEAL_OVERHEAD, 'only the damaged chunk was fetched again')
    assert.equal(sha(await contentOf(again, fileId)), sha(data))
  })
})

function popcount (byte: number): number {
  let n = 0
  for (let b = byte; b > 0; b >>= 1) n += b & 1
  return n
}
