/**
 * File transfer between node processes, each in its own network namespace: node A sends a
 * 200 MB file into a group with `outpost file send`; B and C fetch it with `outpost file get`.
 * C fetches from A and B at once, is killed with kill -9 mid-transfer and goes on from where
 * it was after a restart, and meets chunks that were damaged on B's disk, which it must notice
 * and fetch again from A. Every copy written by `file get --out` must be the original, byte for
 * byte (SHA-256). Needs root; fails loudly without it (see test/helpers/netns.ts).
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdtemp, open, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { execFile } from 'node:child_process'
import { FILE_CHUNK_BYTES, FILE_MAX_CORRUPT_PER_SOURCE, FILE_WINDOW } from '../../node/constants.js'
import { CHUNK_STRIDE, CHUNKS_FILE, type FileStatus } from '../../node/files/index.js'
import { runCli, startDaemon, type Daemon } from '../helpers/cli.js'
import { Lab } from '../helpers/netns.js'
import { labHooks, note, poll, sleep } from '../helpers/lab-hooks.js'

const execFileP = promisify(execFile)

const [A, B, C] = [0, 1, 2]
const NAMES = ['A', 'B', 'C']
const P2P_PORT = 4600
/** 200 MB, not a whole number of chunks: the last chunk is a short one. */
const FILE_BYTES = 200_000_000
const TOTAL_CHUNKS = Math.ceil(FILE_BYTES / FILE_CHUNK_BYTES)
/**
 * C's link (towards C) is held to this rate, so that its 200 MB take about 16 s rather than
 * one or two over bare veth: the kill then lands mid-transfer by a wide margin (near a
 * quarter of the file), not by winning a race with a poll. tbf, unlike netem (see
 * DESIGN.md), is available on these machines.
 */
const C_LINK_RATE = '100mbit'
/**
 * The store saves a download's bitmap of held chunks at most a second after a chunk lands
 * (file-store.ts), so a kill -9 may lose the last second's chunks (fetched again), or two
 * seconds' if it lands while a save is being written. What C held this long before the
 * kill must still be held after the restart.
 */
const BITMAP_SAVE_LAG_MS = 2_000
/**
 * Chunks damaged on B's disk: a run of consecutive chunks late in the file, so that C reaches
 * them only after its restart (its sources' counts are those of the resumed download) and
 * asks B for at least one of them whatever the order A and B take turns in. Fewer than the
 * number of corrupt chunks after which a source is dropped, so B stays a source throughout.
 */
const CORRUPT_FROM = 160
const CORRUPT_COUNT = 12


async function sha256OfFile (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const piece of createReadStream(path)) hash.update(piece as Buffer)
  return hash.digest('hex')
}

/** Writes `size` random bytes to `path`; answers their SHA-256. */
async function writeRandomFile (path: string, size: number): Promise<string> {
  const hash = createHash('sha256')
  const out = await open(path, 'w')
  try {
    for (let written = 0; written < size;) {
      const piece = randomBytes(Math.min(8 * 1024 * 1024, size - written))
      hash.update(piece)
      await out.write(piece)
      written += piece.length
    }
  } finally {
    await out.close()
  }
  return hash.digest('hex')
}

const brief = (s: FileStatus): string => `${s.state}, ${s.chunks.held}/${s.chunks.total} chunks, fetched ${s.fetchedBytes ?? 0} bytes, sources ${JSON.stringify(s.sources ?? [])}`

describe('files between node processes in network namespaces: 200 MB, two sources, kill -9, corrupt chunks', function () {
  let lab: Lab | null = null
  let tmp: string | null = null
  const dataDirs: string[] = []
  const daemons: Daemon[] = []
  let original = ''
  let groupId = ''
  let fileId = ''
  /** C's status once its resumed download completed */
  let finalC: FileStatus | null = null

  const start = async (i: number): Promise<Daemon> => {
    if (lab == null) throw new Error('no lab')
    // Each node is given the two others' addresses: no mDNS is needed to find them.
    const peers = lab.nodes.filter((_, j) => j !== i).flatMap(n => ['--peer', `/ip4/${n.ip}/tcp/${P2P_PORT}`])
    const daemon = await startDaemon({
      netns: lab.node(i).ns,
      dataDir: dataDirs[i],
      logFile: `${dataDirs[i]}.log`,
      args: ['--listen', `/ip4/0.0.0.0/tcp/${P2P_PORT}`, '--api', '127.0.0.1:0', '--no-mdns', '--sync-interval', '1000', ...peers]
    })
    daemons[i] = daemon
    return daemon
  }

  /** `outpost ARGS --json` on node `i`; fails the test on a non-zero exit. */
  const cli = async <T = unknown>(i: number, args: string[], timeoutMs = 30_000): Promise<T> => {
    if (lab == null) throw new Error('no lab')
    const r = await runCli(args, { netns: lab.node(i).ns, dataDir: dataDirs[i], timeoutMs })
    assert.equal(r.code, 0, `outpost ${args.join(' ')} on ${NAMES[i]} exited with ${r.code}: ${r.stderr.trim()}`)
    assert.notEqual(r.json, undefined, `outpost ${args.join(' ')} --json on ${NAMES[i]} printed no JSON: ${r.stdout}`)
    return r.json as T
  }

  /** The file's status on node `i`, as `outpost file list` shows it (undefined: not known there yet). */
  const statusOn = async (i: number): Promise<FileStatus | undefined> =>
    (await cli<FileStatus[]>(i, ['file', 'list'])).find(f => f.fileId === fileId)

  const mustStatus = async (i: number): Promise<FileStatus> => {
    const s = await statusOn(i)
    assert.ok(s != null, `${NAMES[i]} does not list file ${fileId}`)
    return s
  }

  before(async function () {
    this.timeout(60_000)
    // Fails (never skips) without root or network namespaces.
    lab = await Lab.create(3)
    tmp = await mkdtemp(join(tmpdir(), 'outpost-netns-files-'))
    for (const name of NAMES) dataDirs.push(join(tmp, `node-${name}`))
    const started = Date.now()
    ;[original] = await Promise.all([
      writeRandomFile(join(tmp, 'survey.bin'), FILE_BYTES),
      ...[A, B, C].map(async i => await start(i))
    ])
    note(`lab, 200 MB of random bytes and three nodes ready in ${Date.now() - started} ms`)
  })

  labHooks({ daemons, dataDirs, names: NAMES, lab: () => lab, tmp: () => tmp })

  it('A sends a 200 MB file into a group; B and C see the message that carries it', async function () {
    this.timeout(45_000)
    const created = await cli<{ groupId: string, invite: string }>(A, ['group', 'create', 'survey-team'])
    groupId = created.groupId
    for (const i of [B, C]) {
      const joined = await cli<{ groupId: string }>(i, ['group', 'join', created.invite])
      assert.equal(joined.groupId, groupId)
    }
    const sent = await cli<{ messageId: string, fileId: string }>(A, ['file', 'send', groupId, join(tmp ?? '', 'survey.bin')], 60_000)
    assert.match(sent.fileId, /^[0-9a-f]{64}$/)
    fileId = sent.fileId
    note(`sent as file ${fileId}`)
    let seen: Array<FileStatus | undefined> = []
    await poll('B and C to list the file', 20_000, async () => {
      seen = await Promise.all([B, C].map(statusOn))
      return seen.every(s => s != null)
    }, () => `B: ${JSON.stringify(seen[0])}\nC: ${JSON.stringify(seen[1])}`)
    for (const s of seen) {
      assert.ok(s != null)
      assert.equal(s.size, FILE_BYTES)
      assert.equal(s.sha256, original, 'the message carries another SHA-256 than the file A sent')
      assert.equal(s.chunks.total, TOTAL_CHUNKS)
      assert.equal(s.state, 'remote')
    }
  })

  it('B fetches it, and the file it writes is the original', async function () {
    this.timeout(60_000)
    assert.ok(fileId !== '', 'no file: the send test did not get that far')
    const out = join(tmp ?? '', 'survey-on-B.bin')
    const t0 = Date.now()
    const got = await cli<{ fileId: string, path: string, size: number, sha256: string }>(B, ['file', 'get', fileId, '--out', out], 50_000)
    note(`B fetched and wrote it in ${Date.now() - t0} ms`)
    assert.deepEqual({ fileId: got.fileId, path: got.path, size: got.size, sha256: got.sha256 }, { fileId, path: out, size: FILE_BYTES, sha256: original })
    assert.equal((await stat(out)).size, FILE_BYTES)
    assert.equal(await sha256OfFile(out), original, 'the file B wrote is not the one A sent')
    const s = await mustStatus(B)
    assert.equal(s.state, 'complete')
    assert.equal(s.sources?.find(x => x.peerId === daemons[A].ready.peerId)?.chunks, TOTAL_CHUNKS, `B should have had every chunk from A (the only holder): ${brief(s)}`)
  })

  it('C, fetching from A and B, killed with kill -9 mid-transfer and started again, goes on from where it was', async function () {
    this.timeout(90_000)
    assert.ok(lab != null && fileId !== '', 'no file: the send test did not get that far')
    assert.ok(CORRUPT_COUNT < FILE_MAX_CORRUPT_PER_SOURCE)

    // Damage B's copy on disk, behind its back: flip bytes inside each of the sealed chunks
    // CORRUPT_FROM.. (chunk i sits at i × CHUNK_STRIDE in DATA/files/<fileId>/chunks). B
    // still says it holds them, and serves them as they now are.
    const data = await open(join(dataDirs[B], 'files', fileId, CHUNKS_FILE), 'r+')
    try {
      for (let i = CORRUPT_FROM; i < CORRUPT_FROM + CORRUPT_COUNT; i++) {
        const at = i * CHUNK_STRIDE + 4096
        const bytes = Buffer.alloc(64)
        const { bytesRead } = await data.read(bytes, 0, bytes.length, at)
        assert.equal(bytesRead, bytes.length, `B's data file is shorter than expected at chunk ${i}`)
        for (let k = 0; k < bytes.length; k++) bytes[k] ^= 0xff
        await data.write(bytes, 0, bytes.length, at)
      }
    } finally {
      await data.close()
    }

    // Hold C's link to C_LINK_RATE (traffic towards C, on the switch's end of its veth).
    try {
      await execFileP('ip', ['netns', 'exec', lab.switchNs, 'tc', 'qdisc', 'add', 'dev', lab.node(C).switchPort, 'root', 'tbf', 'rate', C_LINK_RATE, 'burst', '256kb', 'latency', '50ms'])
    } catch (err) {
      throw new Error(`could not limit C's link with tc tbf (this test needs it to stop C mid-transfer reliably): ${(err as Error & { stderr?: string }).stderr ?? (err as Error).message}`)
    }

    const out = join(tmp ?? '', 'survey-on-C.bin')
    const t0 = Date.now()
    // The user's first `file get`: it fails once the node is gone. C is killed when it holds
    // a fifth of the file or more, and what it held BITMAP_SAVE_LAG_MS before is noted.
    const firstGet = runCli(['file', 'get', fileId, '--out', out], { netns: lab.node(C).ns, dataDir: dataDirs[C], timeoutMs: 60_000 })
    let last: FileStatus | undefined
    await poll('C to hold a tenth of the file', 30_000, async () => {
      last = await statusOn(C)
      return last != null && last.chunks.held >= TOTAL_CHUNKS / 10
    }, () => `C: ${last != null ? brief(last) : 'no status'}`)
    const heldEarlier = (last as FileStatus).chunks.held
    note(`C holds ${heldEarlier} chunks ${Date.now() - t0} ms after its first file get`)
    await sleep(BITMAP_SAVE_LAG_MS)
    await poll('C to hold a fifth of the file', 30_000, async () => {
      last = await statusOn(C)
      return last != null && last.chunks.held >= TOTAL_CHUNKS / 5
    }, () => `C: ${last != null ? brief(last) : 'no status'}`)
    const atKill = last as FileStatus
    const killed = await daemons[C].kill9()
    note(`C killed after ${Date.now() - t0} ms holding about ${atKill.chunks.held} chunks (${heldEarlier} ${BITMAP_SAVE_LAG_MS} ms before): ${brief(atKill)}`)
    assert.equal(killed.signal, 'SIGKILL')
    assert.equal(atKill.state, 'fetching', `C was not fetching when it was killed: ${brief(atKill)}`)
    // Room for both windows of chunks in flight: none of B's damaged chunks was asked for yet.
    assert.ok(atKill.chunks.held + 2 * FILE_WINDOW < CORRUPT_FROM, `the kill came too late (C held ${atKill.chunks.held} of ${TOTAL_CHUNKS} chunks); it should be well before chunk ${CORRUPT_FROM}`)
    const first = await firstGet
    assert.notEqual(first.code, 0, 'the first file get on C succeeded although its node was killed mid-transfer')

    // The download resumes by itself when C starts, before C is connected to anyone: it waits
    // (FILE_RETRY_MS) and then takes in A and B, connected by then, for the rest of the file.
    await start(C)
    const resumed = await mustStatus(C)
    note(`C restarted: ${brief(resumed)}`)
    assert.ok(resumed.chunks.held >= heldEarlier,
      `C started over: it holds ${resumed.chunks.held} chunks after the restart, but held ${heldEarlier} ${BITMAP_SAVE_LAG_MS} ms before the kill`)
    assert.ok(['fetching', 'waiting', 'verifying', 'complete'].includes(resumed.state), `C did not take up the download again after its restart: ${brief(resumed)}`)

    // The user runs `file get` again: it waits for the download already under way.
    const got = await cli<{ fileId: string, path: string, size: number, sha256: string }>(C, ['file', 'get', fileId, '--out', out], 60_000)
    note(`C completed ${Date.now() - t0} ms after its first file get`)
    assert.equal(got.sha256, original)
    const s = await mustStatus(C)
    finalC = s
    note(`C: ${brief(s)}`)
    assert.equal(s.state, 'complete')
    const fetchedChunks = (s.sources ?? []).reduce((n, x) => n + x.chunks, 0)
    assert.ok(s.fetchedBytes != null && s.fetchedBytes < FILE_BYTES, `C's resumed download fetched ${s.fetchedBytes} bytes, as much as the whole file (${FILE_BYTES})`)
    assert.ok(fetchedChunks <= TOTAL_CHUNKS - heldEarlier,
      `C's resumed download fetched ${fetchedChunks} chunks, more than the ${TOTAL_CHUNKS - heldEarlier} it lacked ${BITMAP_SAVE_LAG_MS} ms before the kill: ${brief(s)}`)
  })

  it('C took chunks from both A and B, noticed B\'s damaged chunks and got them from A, and its file is the original', async function () {
    this.timeout(30_000)
    assert.ok(finalC != null, 'C did not complete: the kill test did not get that far')
    const fromA = finalC.sources?.find(x => x.peerId === daemons[A].ready.peerId)
    const fromB = finalC.sources?.find(x => x.peerId === daemons[B].ready.peerId)
    assert.ok(fromA != null && fromA.chunks > 0, `C got no chunks from A: ${brief(finalC)}`)
    assert.ok(fromB != null && fromB.chunks > 0, `C got no chunks from B: ${brief(finalC)}`)
    assert.ok(fromB.corrupt > 0, `C did not notice that B sent damaged chunks: ${brief(finalC)}`)
    assert.ok(fromB.corrupt <= CORRUPT_COUNT, `C counted more corrupt chunks from B (${fromB.corrupt}) than were damaged (${CORRUPT_COUNT})`)
    assert.equal(fromA.corrupt, 0, `C found chunks from A corrupt, but A's copy is intact: ${brief(finalC)}`)
    assert.notEqual(fromB.state, 'dropped', `C dropped B as a source: ${brief(finalC)}`)
    const out = join(tmp ?? '', 'survey-on-C.bin')
    assert.equal((await stat(out)).size, FILE_BYTES)
    assert.equal(await sha256OfFile(out), original, 'the file C wrote is not the one A sent')
  })
})
