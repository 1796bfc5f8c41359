import assert from 'node:assert/strict'
import type { OutpostNode } from '../../node/index.js'
import { waitFor } from '../helpers/nodes.js'
import { PartitionControl } from '../helpers/partition.js'

/** Messages written while one node is cut off. */
const MISSED = 300
/** gossipsub re-offers what it saw in its last 3 heartbeats (1 s each): after this, only sync brings it. */
const GOSSIP_WINDOW_MS = 3_500

describe('sync after a heal: what a node missed comes once, not once per peer', function () {
  this.timeout(90_000)
  const control = new PartitionControl()
  const nodes: OutpostNode[] = []
  after(async () => { await Promise.all(nodes.map(async n => { await n.stop() })) })

  it('a node back among three peers that all hold the gap receives it from one of them only', async () => {
    // No anti-entropy timer: the exchanges measured are the ones the reconnections start.
    for (const name of ['ann', 'ben', 'cat', 'dan']) nodes.push(await control.startNode({ name, syncIntervalMs: 0 }))
    const [ann, ben, cat, dan] = nodes
    for (const x of nodes) for (const y of nodes) if (x !== y) x.discovery.addPeer(y.peerId, y.addrs)
    const { groupId, invite } = await ann.createGroup('field team')
    for (const n of [ben, cat, dan]) await n.joinGroup(invite)
    const first = await ann.send(groupId, 'before the cut')
    await waitFor('everyone to hold the first message', () => nodes.every(n => n.history(groupId).some(m => m.id === first.id)))

    await control.split(nodes, [[0, 1, 2], [3]])
    let next = 0
    await Promise.all(Array.from({ length: 16 }, async () => { while (next < MISSED) await ann.send(groupId, `while dan is away ${next++}`) }))
    const total = ann.history(groupId).length
    await waitFor('ben and cat to hold everything ann wrote', () => ben.history(groupId).length === total && cat.history(groupId).length === total)
    await new Promise(resolve => setTimeout(resolve, GOSSIP_WINDOW_MS))
    assert.equal(dan.history(groupId).length, total - MISSED, 'dan got messages during the cut: the test proves nothing')

    const gap = ann.groups.require(groupId).doc.diff(dan.groups.require(groupId).doc.stateVector()).length
    const before = dan.sync.stats.updateBytesReceived
    const exchangesBefore = dan.sync.stats.exchanges
    control.heal()
    // All three connections at once, as when a partition heals.
    await Promise.all([ann, ben, cat].map(async p => await dan.host.dial(p.host.peerId)))
    await waitFor('dan to hold everything', () => dan.history(groupId).length === total, 30_000)
    // One exchange per reconnection; each answer counts once it is applied.
    await waitFor("dan's three exchanges to end", () => dan.sync.stats.exchanges >= exchangesBefore + 3, 10_000)
    const received = dan.sync.stats.updateBytesReceived - before
    assert.ok(received >= gap * 0.9, `dan received ${received} bytes by sync for a gap of ${gap}: it came some other way`)
    assert.ok(received < gap * 1.5, `dan received ${received} bytes by sync for a gap of ${gap}: ${(received / gap).toFixed(1)} times the gap`)
    const orders = nodes.map(n => n.history(groupId).map(m => m.id))
    for (const order of orders) assert.deepEqual(order, orders[0])
  })
})
