import assert from 'node:assert/strict'
import { createServer, Socket, type AddressInfo } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { MultiaddrConnection, Stream } from '@libp2p/interface'
import { createHost, type Host } from '../../node/host.js'
import { corkPerTick } from '../../node/wire/fewer-writes.js'

const PROTOCOL = '/outpost-test/writes/1'

/** Counts socket write calls (write or writev) per local port while installed. */
function countWrites (): { byPort: Map<number, number>, restore: () => void } {
  const byPort = new Map<number, number>()
  const proto = Socket.prototype as unknown as { _writeGeneric: (...args: unknown[]) => unknown }
  const original = proto._writeGeneric
  proto._writeGeneric = function (this: Socket, ...args: unknown[]) {
    if (this.localPort != null) byPort.set(this.localPort, (byPort.get(this.localPort) ?? 0) + 1)
    return original.apply(this, args)
  }
  return { byPort, restore: () => { proto._writeGeneric = original } }
}

async function host (): Promise<Host> {
  const h = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
  await h.start()
  return h
}

/** Resolves with the bytes `stream` received once `total` of them arrived. */
async function receive (stream: Stream, total: number): Promise<number> {
  let got = 0
  for await (const chunk of stream) {
    got += chunk.byteLength
    if (got >= total) break
  }
  return got
}

describe('fewer socket writes (TCP corked per tick, yamux window updates at half a window)', function () {
  this.timeout(30_000)
  let a: Host
  let b: Host

  beforeEach(async () => { [a, b] = await Promise.all([host(), host()]) })
  afterEach(async () => { await Promise.all([a.stop(), b.stop()]) })

  /** Opens a stream a -> b; b's side is handed to `onStream`. */
  async function open (onStream: (s: Stream) => void): Promise<{ stream: Stream, aPort: number, bPort: number }> {
    await b.handle(PROTOCOL, stream => { onStream(stream) })
    const stream = await a.dialProtocol(b.getMultiaddrs()[0], PROTOCOL)
    const conn = a.getConnections(b.peerId)[0]
    const aPort = Number(conn.remoteAddr.toString().split('/')[4])
    const bConn = b.getConnections(a.peerId)[0]
    const bRemotePort = Number(bConn.remoteAddr.toString().split('/')[4])
    // On loopback: a's local port is b's view of the remote port and vice versa.
    return { stream, aPort: bRemotePort, bPort: aPort }
  }

  it('a small message is one write from the sender and none back from the receiver', async () => {
    let received: Promise<number> | undefined
    const count = 50
    const size = 300
    const { stream, aPort, bPort } = await open(s => { received = receive(s, count * size) })
    // Let the stream's opening (SYN/ACK, negotiation) finish before counting.
    stream.send(new Uint8Array(1))
    await new Promise(resolve => setTimeout(resolve, 200))
    const writes = countWrites()
    try {
      for (let i = 0; i < count; i++) {
        stream.send(new Uint8Array(size).fill(i))
        // One message per turn of the event loop, as gossip arrives.
        await new Promise(resolve => setImmediate(resolve))
      }
      assert.equal(await received, count * size + 1)
      await new Promise(resolve => setTimeout(resolve, 100))
    } finally {
      writes.restore()
    }
    // Without corking, noise's length prefix and ciphertext are two writes each.
    assert.equal(writes.byPort.get(aPort), count, `sender writes: ${writes.byPort.get(aPort)}`)
    // Without the yamux change, the receiver answers every frame with a window update.
    assert.equal(writes.byPort.get(bPort) ?? 0, 0, `receiver writes: ${writes.byPort.get(bPort)}`)
  })

  it('a transfer of many windows still completes (updates are sent at half a window)', async () => {
    const total = 8 * 1024 * 1024
    let received: Promise<number> | undefined
    const { stream } = await open(s => { received = receive(s, total) })
    const chunk = new Uint8Array(64 * 1024)
    for (let sent = 0; sent < total; sent += chunk.byteLength) {
      if (!stream.send(chunk)) await new Promise(resolve => stream.addEventListener('drain', resolve, { once: true }))
    }
    assert.equal(await received, total)
  })

  it('a corked socket does not say it is full because of what it holds for the tick', async () => {
    // A TCP socket on loopback with room in the kernel, wrapped as libp2p's TCP connection
    // writes (socket.write per buffer; canSendMore is write's answer).
    let got = 0
    const server = createServer(s => { s.on('data', (d: Buffer) => { got += d.byteLength }) })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const socket = new Socket()
    await new Promise<void>(resolve => socket.connect((server.address() as AddressInfo).port, '127.0.0.1', resolve))
    try {
      const raw = {
        socket,
        sendData (data: Uint8Array[]) {
          let sentBytes = 0
          let canSendMore = true
          for (const buf of data) {
            sentBytes += buf.byteLength
            canSendMore = socket.write(buf)
            if (!canSendMore) break
          }
          return { sentBytes, canSendMore }
        }
      }
      const conn = corkPerTick(raw as unknown as MultiaddrConnection) as unknown as typeof raw
      // 48 KiB in one tick, past the socket's 16 KiB high-water mark: libp2p would stop
      // and wait for 'drain' at the first "false", and a sender that chains its writes
      // through promises would wait for the end of the chain.
      const answers: boolean[] = []
      for (let i = 0; i < 48; i++) answers.push(conn.sendData([new Uint8Array(1024)]).canSendMore)
      assert.deepEqual(answers.filter(more => !more).length, 0, `reported full at writes ${answers.flatMap((more, i) => more ? [] : [i]).join(', ')}`)
      const deadline = Date.now() + 5_000
      while (got < 48 * 1024 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
      assert.equal(got, 48 * 1024)
    } finally {
      socket.destroy()
      await new Promise(resolve => server.close(resolve))
    }
  })

  it('a connection that is not a TCP socket is left as it is', () => {
    const sendData = (): void => {}
    const conn = { sendData } as unknown as MultiaddrConnection
    assert.equal(corkPerTick(conn), conn)
    assert.equal((conn as unknown as { sendData: unknown }).sendData, sendData)
  })
})
