import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { SEAL_OVERHEAD, type OutpostNode } from '../../node/index.js'
import type { FileStatus } from '../../node/files/index.js'
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
    const bytes = await readFile(join(dir, 'data'))
    bytes[2 * (MiB + SEAL_OVERHEAD) + 100] ^= 0xff
    await writeFile(join(dir, 'data'), bytes)
    await writeFile(join(dir, 'meta.json'), JSON.stringify({ wanted: true, verified: false }))

    const again = await start('dee', { dataDir })
    await waitFor('dee to verify, fetch the damaged chunk again and complete', () => again.files.status(fileId).state === 'complete', 60_000)
    assert.equal(again.files.status(fileId).fetchedBytes, MiB + SEAL_OVERHEAD, 'only the damaged chunk was fetched again')
    assert.equal(sha(await contentOf(again, fileId)), sha(data))
  })
})
