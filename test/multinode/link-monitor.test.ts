import assert from 'node:assert/strict'
import type { Connection } from '@libp2p/interface'
import { LinkMonitor } from '../../node/link-monitor.js'
import type { OutpostNode } from '../../node/index.js'
import { startNode, waitFor } from '../helpers/nodes.js'

describe('link monitor: dead links noticed with a yamux ping, no stream, only on quiet links', function () {
  this.timeout(30_000)
  const nodes: OutpostNode[] = []
  const monitors: LinkMonitor[] = []
  after(async () => {
    for (const m of monitors) m.stop()
    await Promise.all(nodes.map(async n => { await n.stop() }))
  })

  it('pings a real connection through its muxer, and opens no stream to do it', async () => {
    const [a, b] = [await startNode({ name: 'ann' }), await startNode({ name: 'ben' })]
    nodes.push(a, b)
    a.discovery.addPeer(b.peerId, b.addrs)
    await waitFor('a connection', () => a.host.getConnections().length > 0)
    const conn = a.host.getConnections()[0]
    assert.equal(typeof (conn as unknown as { muxer?: { ping?: unknown } }).muxer?.ping, 'function', 'libp2p still exposes the muxer: the fallback (a ping stream) is not what runs')
    assert.equal(typeof (conn as unknown as { maConn?: { onData?: unknown } }).maConn?.onData, 'function', 'libp2p still exposes the connection\'s reads: without them every link is pinged')
    const streamsBefore = conn.streams.length
    let pingStreams = 0
    const monitor = new LinkMonitor({ connectionManager: { getConnections: () => a.host.getConnections() } }, { quietMs: 50, timeoutMs: 2_000 })
    monitors.push(monitor)
    monitor.start()
    await waitFor('ten pings answered', () => monitor.stats.pings >= 10, 10_000)
    for (const s of conn.streams) if (s.protocol?.includes('ping') === true) pingStreams++
    assert.equal(pingStreams, 0)
    assert.ok(conn.streams.length <= streamsBefore + 1, `streams: ${streamsBefore} before, ${conn.streams.length} after`)
    assert.equal(monitor.stats.aborted, 0)
    assert.equal(conn.status, 'open')
  })

  it('aborts a connection whose peer does not answer within the timeout, and only that one', async () => {
    const aborted: string[] = []
    const fake = (id: string, ping: () => Promise<number>): Connection => ({
      id,
      status: 'open',
      remotePeer: nodes[0].host.peerId,
      muxer: { ping },
      abort: (err: Error) => { aborted.push(`${id}: ${err.message}`) }
    }) as unknown as Connection
    const silent = fake('silent', async () => await new Promise<number>(() => {}))
    const alive = fake('alive', async () => 1)
    const monitor = new LinkMonitor({ connectionManager: { getConnections: () => [silent, alive] } }, { quietMs: 50, timeoutMs: 200 })
    monitors.push(monitor)
    monitor.start()
    await waitFor('the silent connection aborted', () => aborted.length > 0, 5_000)
    monitor.stop()
    assert.deepEqual(aborted, ['silent: no answer to a ping within 200 ms'])
    assert.ok(monitor.stats.pings >= 1)
  })

  it('pings no connection that keeps receiving, and pings one once it falls quiet', async () => {
    let pings = 0
    const maConn = { reads: 0, onData (_data: unknown) { this.reads++ } }
    const conn = {
      id: 'busy',
      status: 'open',
      remotePeer: nodes[0].host.peerId,
      maConn,
      muxer: { ping: async () => { pings++; return 1 } },
      abort: () => { throw new Error('a live connection was aborted') }
    } as unknown as Connection
    const monitor = new LinkMonitor({ connectionManager: { getConnections: () => [conn] } }, { quietMs: 100, timeoutMs: 1_000 })
    monitors.push(monitor)
    monitor.start()
    // libp2p calls maConn.onData for every read: 600 ms of reads every 20 ms
    for (let i = 0; i < 30; i++) {
      maConn.onData(new Uint8Array(1))
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    assert.equal(pings, 0, 'a connection that received within the quiet time was pinged')
    assert.equal(maConn.reads, 30, 'the reads still reach the connection')
    await waitFor('a ping once quiet', () => pings > 0, 2_000)
    monitor.stop()
    assert.equal(monitor.stats.aborted, 0)
  })
})
