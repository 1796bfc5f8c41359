import assert from 'node:assert/strict'
import { generateNetworkKey, parseNetworkKey, InvalidNetworkKeyError, type OutpostNode } from '../../node/index.js'
import { startNode, waitFor } from '../helpers/nodes.js'

describe('network key (pre-shared key admission)', function () {
  this.timeout(30_000)

  it('parses what it generates, in libp2p\'s format, and refuses anything else', () => {
    const key = generateNetworkKey()
    assert.match(key, /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/)
    assert.equal(Buffer.from(parseNetworkKey(key.replace(/\n/g, '\r\n') + '\n')).toString(), key)
    for (const bad of ['', 'hello', key.slice(0, -1), key.replace('base16', 'base64')]) {
      assert.throws(() => parseNetworkKey(bad), (e: Error) => e.name === InvalidNetworkKeyError.NAME)
    }
  })

  it('nodes with the team key connect and sync; a node with another key or none connects to no one', async () => {
    const team = parseNetworkKey(generateNetworkKey())
    const stranger = parseNetworkKey(generateNetworkKey())
    const nodes: OutpostNode[] = []
    try {
      const fast = { redial: { minBackoffMs: 50, maxBackoffMs: 300 } }
      const a = await startNode({ name: 'a', networkKey: team, ...fast })
      const b = await startNode({ name: 'b', networkKey: team, ...fast })
      const other = await startNode({ name: 'other-key', networkKey: stranger, ...fast })
      const none = await startNode({ name: 'no-key', ...fast })
      nodes.push(a, b, other, none)
      for (const x of nodes) for (const y of nodes) if (x !== y) x.discovery.addPeer(y.peerId, y.addrs)

      const { groupId, invite } = await a.createGroup('team only')
      await b.joinGroup(invite)
      const sent = await a.send(groupId, 'for the team')
      await waitFor('b to sync with a', () => b.history(groupId).some(m => m.id === sent.id))

      const problem = (of: OutpostNode, about: OutpostNode): string | undefined => of.peers().find(p => p.peerId === about.peerId)?.problem
      const mismatch = (x: OutpostNode, y: OutpostNode): boolean => problem(x, y) === 'network key mismatch'
      await waitFor('every cross-key pair to report a network key mismatch', () =>
        [other, none].every(x => mismatch(a, x) && mismatch(b, x) && mismatch(x, a) && mismatch(x, b)))
        .catch(err => { throw new Error(`${(err as Error).message}: ${JSON.stringify(nodes.map(n => n.peers().map(p => [p.name, p.connected, p.problem])))}`) })
      assert.equal(other.host.getConnections().length, 0)
      assert.equal(none.host.getConnections().length, 0)
      assert.deepEqual([...new Set(a.host.getConnections().map(c => c.remotePeer.toString()))], [b.peerId])
      assert.equal(a.peers().find(p => p.peerId === b.peerId)?.connected, true)
    } finally {
      await Promise.all(nodes.map(async n => { await n.stop() }))
    }
  })
})
