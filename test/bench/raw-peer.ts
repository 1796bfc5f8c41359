/**
 * The raw gossipsub baseline: a bare libp2p host built by the project's own createHost
 * (same TCP + Noise + yamux + identify + ping + gossipsub options, mDNS off, loopback only),
 * with a front shaped like Outpost's local API so that both paths include the same local
 * hops: an HTTP POST that publishes, and a WebSocket that reports what arrived.
 *
 *   node dist/test/bench/raw-peer.js --topic T [--dial MULTIADDR]... [--sign]
 *   prints {"ready":true,"peerId","addrs","http"} once listening
 *
 *   POST /publish  {"text"}          publishes {"text"} (JSON bytes) on T; 201 {"at"} after publish resolves
 *   POST /pingpong {"count","bytes"} in-process one-way latency: RTT/2 of ping on T/ping, echoed on T/pong
 *   POST /bulk/pull {"peer","bytes"} opens one /bench/bulk/1 stream to a connected peer, asks it
 *                                    for `bytes` bytes and reads them all; {"bytes","ms"} (ms from
 *                                    the dial of the stream to its last byte)
 *   GET  /status                     {"peerId","connections","subscribers"}
 *   WS   /events                     {"type":"message","topic","message":{"text"},"at"} per message received on T (at: ms since the epoch)
 *
 * /bench/bulk/1, the baseline of the file-transfer benchmark (files.ts): the asker writes the
 * count it wants (u64 BE), the answerer writes that many bytes in 1 MiB sends (as Outpost's
 * file chunks), waiting for 'drain' when the stream says so, then closes.
 *
 * Not part of the product: nothing here validates, signs, stores or orders anything.
 */
import '../../node/polyfill.js'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { byteStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { WebSocketServer } from 'ws'
import { createHost } from '../../node/host.js'
import { wallClockMs } from '../../node/wall-clock.js'

const { values } = parseArgs({ options: { topic: { type: 'string' }, dial: { type: 'string', multiple: true }, sign: { type: 'boolean' } } })
const topic = values.topic ?? 'bench'
const pingTopic = `${topic}/ping`
const pongTopic = `${topic}/pong`

const host = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, signMessages: values.sign === true })
await host.start()
const pubsub = host.services.pubsub
for (const t of [topic, pingTopic, pongTopic]) pubsub.subscribe(t)

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const pongWaiters = new Map<string, () => void>()

const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 })
pubsub.addEventListener('message', evt => {
  const msg = evt.detail
  if (msg.topic === topic) {
    // Like Outpost: decode the payload, then report the message to every WebSocket client.
    const { text } = JSON.parse(decoder.decode(msg.data)) as { text: string }
    // `at`, as an Outpost node stamps its message events (node/wall-clock.ts)
    const data = JSON.stringify({ type: 'message', topic, message: { text }, at: wallClockMs() })
    for (const client of wss.clients) if (client.readyState === client.OPEN) client.send(data)
  } else if (msg.topic === pingTopic) {
    // Echo on the pong topic; a different first byte, since message ids hash the payload.
    const echo = new Uint8Array(msg.data.length + 1)
    echo[0] = 0x70
    echo.set(msg.data, 1)
    pubsub.publish(pongTopic, echo).catch(() => {})
  } else if (msg.topic === pongTopic) {
    const nonce = decoder.decode(msg.data.subarray(1, 1 + 16))
    pongWaiters.get(nonce)?.()
  }
})

async function pingpong (count: number, bytes: number): Promise<number[]> {
  const oneWay: number[] = []
  const deadline = Date.now() + 30_000
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    const payload = new Uint8Array(bytes).fill(0x61)
    const nonce = `${process.pid}-${i}-${Date.now()}`.padEnd(16, '.').slice(0, 16)
    payload.set(encoder.encode(nonce), 0)
    const t0 = performance.now()
    const back = new Promise<boolean>(resolve => {
      const timer = setTimeout(() => { pongWaiters.delete(nonce); resolve(false) }, 2_000)
      pongWaiters.set(nonce, () => { clearTimeout(timer); pongWaiters.delete(nonce); resolve(true) })
    })
    await pubsub.publish(pingTopic, payload)
    if (await back) oneWay.push((performance.now() - t0) / 2)
  }
  return oneWay
}

const BULK_PROTOCOL = '/bench/bulk/1'
const BULK_WRITE_BYTES = 1024 * 1024
/** A bound on one pull, so that a bad request cannot keep a peer busy for long. */
const BULK_MAX_BYTES = 4 * 1024 * 1024 * 1024
const BULK_TIMEOUT_MS = 120_000

/** The answering side: reads the count asked for, then sends that many bytes and closes. */
async function serveBulk (stream: Stream): Promise<void> {
  const signal = AbortSignal.timeout(BULK_TIMEOUT_MS)
  try {
    const bytes = byteStream(stream)
    const head = await bytes.read({ bytes: 8, signal })
    const count = Number(Buffer.from(head.subarray()).readBigUInt64BE(0))
    if (count > BULK_MAX_BYTES) throw new Error(`${count} bytes asked for, over the bound`)
    bytes.unwrap()
    // Random bytes (the content changes nothing for Noise, but says so plainly), one buffer
    // sent again and again: the baseline is the transport, not the making of data.
    const block = randomBytes(BULK_WRITE_BYTES)
    for (let sent = 0; sent < count;) {
      const n = Math.min(BULK_WRITE_BYTES, count - sent)
      if (!stream.send(n === BULK_WRITE_BYTES ? block : block.subarray(0, n))) await stream.onDrain({ signal })
      sent += n
    }
    await stream.close({ signal })
  } catch (err) {
    stream.abort(err as Error)
  }
}

/** The asking side: one stream, the count, then every byte read (and dropped) until the end. */
async function pullBulk (peer: string, count: number): Promise<{ bytes: number, ms: number }> {
  const signal = AbortSignal.timeout(BULK_TIMEOUT_MS)
  const t0 = performance.now()
  const stream = await host.dialProtocol(peerIdFromString(peer), BULK_PROTOCOL, { signal })
  // A stalled stream ends the read loop below (with an error) rather than hanging it.
  const stall = (): void => { stream.abort(new Error('bulk pull timed out')) }
  signal.addEventListener('abort', stall, { once: true })
  try {
    const head = Buffer.alloc(8)
    head.writeBigUInt64BE(BigInt(count))
    stream.send(head)
    let bytes = 0
    for await (const piece of stream) bytes += piece.byteLength
    const ms = performance.now() - t0
    await stream.close({ signal })
    return { bytes, ms }
  } catch (err) {
    stream.abort(err as Error)
    throw err
  } finally {
    signal.removeEventListener('abort', stall)
  }
}

await host.handle(BULK_PROTOCOL, stream => { serveBulk(stream).catch(() => {}) })

async function body (req: import('node:http').IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

const server = createServer((req, res) => {
  const reply = (status: number, value: unknown): void => {
    const data = JSON.stringify(value)
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data) })
    res.end(data)
  }
  ;(async () => {
    if (req.method === 'POST' && req.url === '/publish') {
      const { text } = await body(req)
      // when this peer publishes it, as an Outpost node stamps its own message's event
      const at = wallClockMs()
      await pubsub.publish(topic, encoder.encode(JSON.stringify({ text })))
      reply(201, { ok: true, at })
    } else if (req.method === 'POST' && req.url === '/pingpong') {
      const b = await body(req)
      reply(200, await pingpong(Math.min(Number(b.count ?? 100), 5_000), Math.min(Number(b.bytes ?? 1024), 64 * 1024)))
    } else if (req.method === 'POST' && req.url === '/bulk/pull') {
      const b = await body(req)
      reply(200, await pullBulk(String(b.peer), Math.min(Number(b.bytes ?? 0), BULK_MAX_BYTES)))
    } else if (req.method === 'GET' && req.url === '/status') {
      reply(200, {
        peerId: host.peerId.toString(),
        connections: host.getConnections().length,
        subscribers: pubsub.getSubscribers(topic).length
      })
    } else {
      reply(404, { error: 'no such endpoint' })
    }
  })().catch(err => { reply(500, { error: (err as Error).message }) })
})
server.on('upgrade', (req, socket, head) => {
  if (req.url !== '/events') { socket.destroy(); return }
  wss.handleUpgrade(req, socket, head, ws => { ws.send(JSON.stringify({ type: 'hello' })) })
})
await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
const port = (server.address() as AddressInfo).port

for (const addr of values.dial ?? []) {
  // Dial at once (Outpost's static peers go through its redialer instead).
  await host.dial(multiaddr(addr), { signal: AbortSignal.timeout(5_000) })
}

process.stdout.write(JSON.stringify({
  ready: true,
  peerId: host.peerId.toString(),
  addrs: host.getMultiaddrs().map(a => a.toString()),
  http: `http://127.0.0.1:${port}`
}) + '\n')

const stop = (): void => {
  for (const c of wss.clients) c.terminate()
  server.closeAllConnections()
  server.close()
  Promise.resolve(host.stop()).finally(() => process.exit(0))
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
