import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import { MemoryKv } from '../../crdt/index.js'
import { Discovery } from '../../discovery/index.js'
import { waitFor } from '../helpers/nodes.js'

async function randomPeer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** Just enough of libp2p for Discovery: a peer store, dial, and events. */
function fakeLibp2p (self: PeerId, known: Array<{ id: PeerId, addr: string }>): { libp2p: any, dialed: string[] } {
  const dialed: string[] = []
  const events = new EventTarget()
  const libp2p = {
    peerId: self,
    peerStore: { all: async () => known.map(k => ({ id: k.id, addresses: [{ multiaddr: multiaddr(k.addr) }] })) },
    getConnections: () => [],
    dial: async (addrs: unknown[]) => {
      dialed.push(...addrs.map(String))
      throw new Error('unreachable in this test')
    },
    addEventListener: events.addEventListener.bind(events),
    removeEventListener: events.removeEventListener.bind(events)
  }
  return { libp2p, dialed }
}

describe('Discovery', () => {
  it('dials peers that mDNS found before the service started (peer:discovery fires only once)', async () => {
    const self = await randomPeer()
    const early = await randomPeer()
    const { libp2p, dialed } = fakeLibp2p(self, [{ id: early, addr: '/ip4/10.0.0.9/tcp/4600' }])
    const discovery = new Discovery({ libp2p }, { store: new MemoryKv(), minBackoffMs: 10, tickMs: 20 })
    await discovery.start()
    try {
      await waitFor('a dial of the early peer', () => dialed.some(a => a === `/ip4/10.0.0.9/tcp/4600/p2p/${early.toString()}`), 2_000)
      assert.deepEqual(discovery.peers().map(p => p.peerId), [early.toString()])
    } finally {
      await discovery.stop()
    }
  })

  it('keeps redialing an unreachable peer instead of giving up', async () => {
    const self = await randomPeer()
    const peer = await randomPeer()
    const { libp2p, dialed } = fakeLibp2p(self, [])
    const discovery = new Discovery({ libp2p }, { store: new MemoryKv(), minBackoffMs: 5, maxBackoffMs: 20, tickMs: 5 })
    await discovery.start()
    try {
      discovery.addPeer(peer.toString(), ['/ip4/10.0.0.8/tcp/4600'])
      await waitFor('repeated attempts', () => dialed.length >= 6, 5_000)
      assert.ok(dialed.every(a => a === `/ip4/10.0.0.8/tcp/4600/p2p/${peer.toString()}`))
    } finally {
      await discovery.stop()
    }
  })
})
