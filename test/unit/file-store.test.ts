import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Uint8ArrayList } from 'uint8arraylist'
import { FILE_CHUNK_BYTES, SEAL_OVERHEAD } from '../../node/constants.js'
import { AlignedBuffers, alignUp, DIRECT_ALIGN, openDirect } from '../../node/files/direct-io.js'
import { CHUNK_STRIDE, CHUNKS_FILE, FileStore } from '../../node/files/file-store.js'
import { encodeManifest, fileIdOf } from '../../node/files/manifest.js'
import { sealSource } from '../../node/files/seal-source.js'
import { removeDir, tempDir } from '../helpers/nodes.js'

const MiB = 1024 * 1024

/** A file of `bytes` random bytes, sealed: its manifest and its sealed chunks. */
async function sealed (bytes: number): Promise<{ manifestBytes: Uint8Array, fileId: string, chunks: Uint8Array[] }> {
  const chunks: Uint8Array[] = []
  const manifest = await sealSource([randomBytes(bytes)], randomBytes(32), { maxBytes: bytes, tooLarge: () => new Error('too large') }, async c => { chunks.push(c) })
  const manifestBytes = encodeManifest(manifest)
  return { manifestBytes, fileId: fileIdOf(manifestBytes), chunks }
}

async function readAll (store: FileStore, fileId: string): Promise<Buffer[]> {
  const file = store.get(fileId)
  assert.ok(file != null)
  const out: Buffer[] = []
  // Each chunk is valid only until the next: copied.
  for await (const chunk of file.readChunks()) out.push(Buffer.from(chunk))
  return out
}

describe('file store on disk', () => {
  let dir = ''
  let directPossible = false
  before(async () => {
    dir = await tempDir('outpost-file-store-')
    // Whether this file system takes O_DIRECT: the store must use it where it can, and
    // work without where it cannot.
    const probe = join(dir, 'probe')
    await writeFile(probe, '')
    const handle = await openDirect(probe)
    directPossible = handle != null
    await handle?.close()
  })
  after(async () => { await removeDir(dir) })

  it('a download\'s chunks, written in any order and in pieces, read back whole, each in its aligned slot', async () => {
    const store = new FileStore(join(dir, 'a'))
    await store.open()
    const { manifestBytes, fileId, chunks } = await sealed(3 * MiB + 777)
    const file = await store.create(fileId, manifestBytes, true)
    // As a download does: out of order, and chunk 1 as the pieces it arrived in.
    await file.writeChunk(2, chunks[2])
    await file.writeChunk(0, chunks[0])
    await file.writeChunk(3, chunks[3])
    await file.writeChunk(1, new Uint8ArrayList(chunks[1].subarray(0, 1000), chunks[1].subarray(1000, 70_000), chunks[1].subarray(70_000)))
    assert.equal(file.complete, true)
    assert.deepEqual(await readAll(store, fileId), chunks.map(c => Buffer.from(c)))
    assert.deepEqual(store.io, directPossible
      ? { directWrites: 4, cachedWrites: 0, directReads: 1, cachedReads: 0 }
      : { directWrites: 0, cachedWrites: 4, directReads: 0, cachedReads: 1 })

    const raw = await readFile(join(store.dir, fileId, CHUNKS_FILE))
    for (let i = 0; i < chunks.length; i++) {
      assert.ok(raw.subarray(i * CHUNK_STRIDE, i * CHUNK_STRIDE + chunks[i].length).equals(chunks[i]), `chunk ${i} at ${i} × CHUNK_STRIDE`)
    }
    assert.equal(CHUNK_STRIDE % DIRECT_ALIGN, 0)
    assert.ok(CHUNK_STRIDE >= FILE_CHUNK_BYTES + SEAL_OVERHEAD)

    // Closed and opened again (a restart): the same chunks, read the same way.
    await store.close()
    const again = new FileStore(store.dir)
    await again.open()
    assert.deepEqual(await readAll(again, fileId), chunks.map(c => Buffer.from(c)))
    await again.close()
  })

  it('a sent file is laid out as a received one, so either can serve and verify it', async () => {
    const store = new FileStore(join(dir, 'b'))
    await store.open()
    const chunks: Uint8Array[] = []
    const stored = await store.importFile(async sink => await sealSource([randomBytes(2 * MiB + 5)], randomBytes(32), { maxBytes: 3 * MiB, tooLarge: () => new Error('too large') }, async c => {
      chunks.push(c)
      await sink(c)
    }))
    assert.equal(chunks.length, 3)
    assert.deepEqual(await readAll(store, stored.fileId), chunks.map(c => Buffer.from(c)))
    for (let i = 0; i < chunks.length; i++) assert.deepEqual(Buffer.from(await stored.readChunk(i)), Buffer.from(chunks[i]))
    await store.close()
  })

  it('a file stored before aligned slots (chunks packed in `data`) is still read, and resumed where it was', async () => {
    const root = join(dir, 'c')
    const { manifestBytes, fileId, chunks } = await sealed(3 * MiB)
    // As an older node left a partial download: chunks 0 and 2 held, packed end to end.
    const fileDir = join(root, fileId)
    await mkdir(fileDir, { recursive: true })
    await writeFile(join(fileDir, 'manifest'), manifestBytes)
    const packed = FILE_CHUNK_BYTES + SEAL_OVERHEAD
    const data = await open(join(fileDir, 'data'), 'w')
    await data.write(chunks[0], 0, chunks[0].length, 0)
    await data.write(chunks[2], 0, chunks[2].length, 2 * packed)
    await data.close()
    await writeFile(join(fileDir, 'have'), Buffer.from([0b101]))
    await writeFile(join(fileDir, 'meta.json'), JSON.stringify({ wanted: true, verified: false }))

    const store = new FileStore(root)
    await store.open()
    const file = store.get(fileId)
    assert.ok(file != null)
    assert.deepEqual([file.have.has(0), file.have.has(1), file.have.has(2)], [true, false, true])
    await file.writeChunk(1, chunks[1])
    assert.deepEqual(await readAll(store, fileId), chunks.map(c => Buffer.from(c)))
    assert.deepEqual(store.io, { directWrites: 0, cachedWrites: 1, directReads: 0, cachedReads: 1 }, 'packed chunks are not aligned: no direct I/O')
    assert.equal((await stat(join(fileDir, 'data'))).size, 3 * packed, 'written in its packed place')
    await store.close()
  })

  it('a reader that stops part way gives its buffers back', async function () {
    if (!directPossible) this.skip()
    const store = new FileStore(join(dir, 'd'))
    await store.open()
    const { manifestBytes, fileId, chunks } = await sealed(4 * MiB)
    const file = await store.create(fileId, manifestBytes, true)
    for (let i = 0; i < chunks.length; i++) await file.writeChunk(i, chunks[i])
    for (let round = 0; round < 10; round++) {
      // eslint-disable-next-line no-unreachable-loop
      for await (const chunk of file.readChunks(1)) {
        assert.deepEqual(Buffer.from(chunk), Buffer.from(chunks[1]))
        break
      }
    }
    assert.equal(store.io.directReads, 10, 'every reader found its two buffers free')
    await store.close()
  })
})

describe('aligned buffers', () => {
  it('are page-aligned as O_DIRECT needs, lent without waiting, and refused when too few are free', async () => {
    const pool = new AlignedBuffers(MiB + 28, 3)
    const all = pool.tryTake(3)
    assert.ok(all != null)
    for (const b of all) {
      assert.equal(b.length, alignUp(MiB + 28))
      assert.equal(b.byteOffset % DIRECT_ALIGN, 0)
    }
    assert.equal(pool.tryTake(1), undefined)
    pool.give(all[0])
    assert.equal(pool.tryTake(2), undefined)
    assert.equal(pool.tryTake(1)?.[0].length, alignUp(MiB + 28))
  })
})
