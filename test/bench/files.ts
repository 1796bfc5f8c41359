/**
 * File transfer between two processes on loopback, against a raw libp2p stream moving the
 * same number of bytes in the same run (the issue: "at least 0.7 of the raw rate").
 *
 *  - outpost: node A takes a file of random bytes (POST /v1/groups/:id/files, timed as the
 *    sender's import rate); once B holds the message that names it, the driver asks B to
 *    fetch it (POST /v1/files/:id/fetch) and times, from just before that call, the 'file'
 *    events from B's WebSocket: the first that shows every chunk held (the transfer: 1 MiB
 *    chunks sealed with AES-256-GCM, each checked against its hash and written to disk), and
 *    'complete' (then the whole file was read back, opened and checked against its SHA-256).
 *  - raw: two bare createHost() processes (raw-peer.ts, same TCP + Noise + yamux); the
 *    driver asks one (POST /bulk/pull) to pull the same number of bytes from the other on
 *    one /bench/bulk/1 stream, written in 1 MiB sends, and times that call.
 *
 * Both pairs live through the whole run and take turns, round by round, in alternating
 * order, so that drift in machine load hits both alike; medians are reported. Every file of
 * a round is a new one (a new key, so a new file id): nothing is cached between rounds. A
 * round's file is deleted afterwards (its message deleted on A, then gone on both nodes), so
 * the run holds one file at a time on disk. Rates are in MB/s of the plain file (10^6 bytes
 * per second).
 *
 * What the ratio compares: the raw pull only moves bytes from memory to memory; Outpost's
 * receiver also hashes every chunk and writes it to disk (past the page cache where the
 * file system allows: see node/files/direct-io.ts), and the sender reads it from disk, on
 * the same 2 cores. Its CPU per fetch is in the details, per process, with the receiver's
 * kernel time apart: before direct writes, filling fresh page-cache pages cost this VM 0.4
 * to 1 CPU-second per 256 MiB and decided the rate. What still swings from round to round
 * is V8's garbage collection (rounds where a node runs major GCs back to back).
 */
import '../../node/polyfill.js'
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import http from 'node:http'
import { join } from 'node:path'
import { outpostPair } from './pairs.js'
import { cpuSecondsOf, cpuTimesOf, Events, log, median, now, round, row, startRaw, tempDir, waitUntil, withTimeout, type BenchResult, type OutpostProc, type RawProc } from './lib.js'

const MiB = 1024 * 1024

export interface FilesOptions {
  /** the size of the file (and of the raw pull) */
  bytes?: number
  /** rounds of each path, measured after the warm-up */
  rounds?: number
  /** the size of the warm-up file and pull (two of each, before the rounds) */
  warmupBytes?: number
}

interface OutpostRound {
  fileId: string
  uploadMs: number
  /** POST fetch -> first event with every chunk held */
  heldMs: number
  /** POST fetch -> 'complete' (verified) */
  completeMs: number
  cpuSeconds: { sender: number, receiver: number }
  /** of the receiver's CPU, the part spent in the kernel (socket reads, and page-cache writes of the file) */
  receiverSystemSeconds: number
  sources: unknown
}

interface RawRound {
  /** the driver's POST /bulk/pull round trip */
  ms: number
  /** as timed inside the pulling peer (dial of the stream to its last byte) */
  peerMs: number
  cpuSeconds: { sender: number, receiver: number }
}

/** A file of `bytes` random bytes in a temporary directory. */
export async function makeSourceFile (bytes: number): Promise<string> {
  const path = join(await tempDir('outpost-bench-files-'), 'source.bin')
  const handle = await open(path, 'w')
  try {
    for (let written = 0; written < bytes;) {
      const n = Math.min(MiB, bytes - written)
      await handle.write(randomBytes(n))
      written += n
    }
  } finally {
    await handle.close()
  }
  return path
}

/** POST /v1/groups/:id/files with the file's bytes as the body, streamed from disk. */
export async function upload (node: OutpostProc, groupId: string, path: string, bytes: number, timeoutMs: number): Promise<{ fileId: string, messageId: string, ms: number }> {
  const url = new URL(String(node.ready.api))
  const t0 = now()
  const res = await withTimeout('file upload', new Promise<{ status: number, body: string }>((resolve, reject) => {
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: `/v1/groups/${groupId}/files?name=bench.bin`,
      method: 'POST',
      headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/octet-stream', 'content-length': bytes }
    }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    const source = createReadStream(path, { highWaterMark: MiB })
    source.on('error', err => { req.destroy(err) })
    source.pipe(req)
  }), timeoutMs)
  const ms = now() - t0
  if (res.status !== 201) throw new Error(`file upload: HTTP ${res.status} ${res.body}`)
  const { fileId, messageId } = JSON.parse(res.body) as { fileId: string, messageId: string }
  return { fileId, messageId, ms }
}

/**
 * One fetch on B, timed from the driver: resolves with the times (from just before POST
 * fetch) of the first 'file' event that shows every chunk held and of 'complete'.
 */
export async function fetchOnce (b: OutpostProc, events: Events, fileId: string, timeoutMs: number): Promise<{ heldMs: number, completeMs: number, status: any }> {
  let heldAt: number | undefined
  let off = (): void => {}
  const done = new Promise<{ at: number, status: any }>((resolve, reject) => {
    off = events.on((e, at) => {
      if (e.type !== 'file' || e.fileId !== fileId) return
      if (heldAt == null && (e.bytes?.held === e.bytes?.total || e.state === 'verifying' || e.state === 'complete')) heldAt = at
      if (e.state === 'complete') resolve({ at, status: e })
      if (e.state === 'failed') reject(new Error(`fetch of ${fileId} failed on B: ${String(e.error)}`))
    })
  })
  try {
    const t0 = now()
    await b.api.call('POST', `/v1/files/${fileId}/fetch`)
    const { at, status } = await withTimeout(`B to fetch and verify file ${fileId}`, done, timeoutMs)
    return { heldMs: (heldAt ?? at) - t0, completeMs: at - t0, status }
  } finally {
    off()
  }
}

type OutpostPair = Awaited<ReturnType<typeof outpostPair>>

async function outpostRound (pair: OutpostPair, events: Events, source: string, bytes: number, timeoutMs: number): Promise<OutpostRound> {
  const { fileId, messageId, ms: uploadMs } = await upload(pair.a, pair.groupId, source, bytes, timeoutMs)
  // The message that names the file reaches B by gossip; B cannot fetch a file it has not heard of.
  await waitUntil('B to hold the message that names the file', async () => (await pair.b.api.request('GET', `/v1/files/${fileId}`)).status === 200, 15_000, 10)
  const cpu0 = { a: cpuSecondsOf(pair.a.pid), b: cpuSecondsOf(pair.b.pid), bSystem: cpuTimesOf(pair.b.pid).system }
  const r = await fetchOnce(pair.b, events, fileId, timeoutMs)
  const cpu = { sender: round(cpuSecondsOf(pair.a.pid) - cpu0.a, 2), receiver: round(cpuSecondsOf(pair.b.pid) - cpu0.b, 2) }
  const receiverSystemSeconds = round(cpuTimesOf(pair.b.pid).system - cpu0.bSystem, 2)
  await removeFile(pair, fileId, messageId)
  return {
    fileId,
    uploadMs,
    heldMs: r.heldMs,
    completeMs: r.completeMs,
    cpuSeconds: cpu,
    receiverSystemSeconds,
    sources: r.status.sources
  }
}

/** Deletes the message that carries the file; both nodes then erase the file (waited for). */
async function removeFile (pair: OutpostPair, fileId: string, messageId: string): Promise<void> {
  await pair.a.api.call('POST', `/v1/groups/${pair.groupId}/messages/${messageId}/delete`)
  await waitUntil('both nodes to drop the file of a deleted message', async () => {
    const [a, b] = await Promise.all([pair.a.api.request('GET', `/v1/files/${fileId}`), pair.b.api.request('GET', `/v1/files/${fileId}`)])
    return a.status === 404 && b.status === 404
  }, 15_000, 20)
}

async function rawRound (a: RawProc, b: RawProc, bytes: number, timeoutMs: number): Promise<RawRound> {
  const cpu0 = { a: cpuSecondsOf(a.pid), b: cpuSecondsOf(b.pid) }
  const t0 = now()
  const res = await b.api.request<{ bytes: number, ms: number }>('POST', '/bulk/pull', { peer: a.peerId, bytes }, timeoutMs)
  const ms = now() - t0
  if (res.status !== 200 || res.body.bytes !== bytes) throw new Error(`raw pull: HTTP ${res.status} ${JSON.stringify(res.body)}`)
  return { ms, peerMs: res.body.ms, cpuSeconds: { sender: round(cpuSecondsOf(a.pid) - cpu0.a, 2), receiver: round(cpuSecondsOf(b.pid) - cpu0.b, 2) } }
}

export async function filesBench (opts: FilesOptions = {}): Promise<BenchResult> {
  const bytes = opts.bytes ?? 256 * MiB
  const rounds = opts.rounds ?? 5
  // Enough for the JIT of both paths: after 16 MiB, the raw pull was still at half its speed.
  const warmupBytes = opts.warmupBytes ?? Math.min(bytes, 64 * MiB)
  // Generous: 5 MB/s would be far below anything seen here, yet ends a stuck run.
  const timeoutMs = Math.max(60_000, bytes / 5_000)
  const mbps = (ms: number): number => bytes / 1e6 / (ms / 1000)

  log(`files: writing a ${bytes / MiB} MiB file of random bytes`)
  const source = await makeSourceFile(bytes)
  const warmupSource = await makeSourceFile(warmupBytes)

  log('files: starting a raw libp2p pair and an Outpost pair')
  const ra = await startRaw({ topic: 'bench-files' })
  let rb: RawProc | undefined
  let pair: OutpostPair | undefined
  let events: Events | undefined
  try {
    rb = await startRaw({ topic: 'bench-files', dial: ra.addrs[0] })
    pair = await outpostPair()
    events = await Events.open(pair.b.eventsUrl)

    log('files: two warm-up rounds of each')
    for (let i = 0; i < 2; i++) {
      await rawRound(ra, rb, warmupBytes, timeoutMs)
      await outpostRound(pair, events, warmupSource, warmupBytes, timeoutMs)
    }

    const outpost: OutpostRound[] = []
    const raw: RawRound[] = []
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? ['raw', 'outpost'] : ['outpost', 'raw']
      for (const path of order) {
        if (path === 'raw') {
          const r = await rawRound(ra, rb, bytes, timeoutMs)
          raw.push(r)
          log(`files: round ${i + 1} raw ${mbps(r.ms).toFixed(1)} MB/s`)
        } else {
          const o = await outpostRound(pair, events, source, bytes, timeoutMs)
          outpost.push(o)
          log(`files: round ${i + 1} outpost held ${mbps(o.heldMs).toFixed(1)} MB/s, complete ${mbps(o.completeMs).toFixed(1)} MB/s, import ${mbps(o.uploadMs).toFixed(1)} MB/s; receiver CPU ${o.cpuSeconds.receiver} s (${o.receiverSystemSeconds} s kernel)`)
        }
      }
    }

    const rawMs = median(raw.map(r => r.ms))
    const heldMs = median(outpost.map(o => o.heldMs))
    const completeMs = median(outpost.map(o => o.completeMs))
    const verifyMs = median(outpost.map(o => o.completeMs - o.heldMs))
    const uploadMs = median(outpost.map(o => o.uploadMs))
    // Each round's own ratio too: how much the two paths moved together.
    const paired = outpost.map((o, i) => raw[i].ms / o.heldMs)
    const base = { value: mbps(rawMs), label: 'raw libp2p stream, same bytes' }
    const size = `${bytes / MiB} MiB`
    log(`files: outpost ${mbps(heldMs).toFixed(1)} MB/s (${mbps(completeMs).toFixed(1)} verified), raw ${mbps(rawMs).toFixed(1)} MB/s, ratio ${(rawMs / heldMs).toFixed(2)}`)
    return {
      name: 'files',
      rows: [
        row({ metric: `file transfer to B, all chunks held (${size})`, value: mbps(heldMs), unit: 'MB/s', baseline: base, ratioTarget: { kind: 'min', value: 0.7 } }),
        row({ metric: 'file fetch to complete (with whole-file check)', value: mbps(completeMs), unit: 'MB/s', baseline: base }),
        row({ metric: 'file verification after the last chunk (info)', value: verifyMs, unit: 'ms' }),
        row({ metric: 'file import at A (POST upload, info)', value: mbps(uploadMs), unit: 'MB/s' })
      ],
      details: {
        bytes,
        rounds,
        warmupBytes,
        medians: {
          rawMBps: round(mbps(rawMs), 1),
          outpostHeldMBps: round(mbps(heldMs), 1),
          outpostCompleteMBps: round(mbps(completeMs), 1),
          verifyMs: round(verifyMs, 1),
          importMBps: round(mbps(uploadMs), 1),
          ratioByRound: round(median(paired), 3),
          cpuSecondsPerFetch: { sender: median(outpost.map(o => o.cpuSeconds.sender)), receiver: median(outpost.map(o => o.cpuSeconds.receiver)) },
          rawCpuSecondsPerPull: { sender: median(raw.map(r => r.cpuSeconds.sender)), receiver: median(raw.map(r => r.cpuSeconds.receiver)) }
        },
        ratioByRound: paired.map(x => round(x, 3)),
        outpost: outpost.map(o => ({ ...o, uploadMs: round(o.uploadMs, 1), heldMs: round(o.heldMs, 1), completeMs: round(o.completeMs, 1) })),
        raw: raw.map(r => ({ ...r, ms: round(r.ms, 1), peerMs: round(r.peerMs, 1) }))
      }
    }
  } finally {
    events?.close()
    ra.api.close()
    rb?.api.close()
    await Promise.all([ra.stop(), rb?.stop(), pair?.stop()])
  }
}
