import assert from 'node:assert/strict'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { OutpostNode } from '../../node/index.js'
import { topicOf } from '../../node/groups.js'
import { startNode, waitFor } from '../helpers/nodes.js'

/** A short anti-entropy interval, so that rounds come quickly; idle pairs exchange every 6. */
const INTERVAL_MS = 300

/** Exchanges completed, counted at both ends. */
const exchanges = (nodes: OutpostNode[]): number => nodes.reduce((sum, n) => sum + n.sync.stats.exchanges, 0)

describe('anti-entropy: idle pairs exchange rarely, news still reaches whoever gossip missed', function () {
  this.timeout(60_000)
  const nodes: OutpostNode[] = []
  after(async () => { await Promise.all(nodes.map(async n => { await n.stop() })) })

  it('three idle nodes exchange a sixth as often, and a message one of them did not get by gossip reaches it by sync', async () => {
    for (const name of ['ann', 'ben', 'cat']) nodes.push(await startNode({ name, syncIntervalMs: INTERVAL_MS }))
    const [a, b, c] = nodes
    for (const x of nodes) for (const y of nodes) if (x !== y) x.discovery.addPeer(y.peerId, y.addrs)
    const { groupId, invite } = await a.createGroup('quiet')
    await b.joinGroup(invite)
    await c.joinGroup(invite)
    const first = await a.send(groupId, 'before the quiet')
    await waitFor('everyone to hold the first message', () => nodes.every(n => n.history(groupId).some(m => m.id === first.id)))
    // Let the exchanges that the joins and the message set off run out.
    await new Promise(resolve => setTimeout(resolve, 8 * INTERVAL_MS))

    // Idle: an exchange in every round of every pair would count about 3 pairs x 10 rounds
    // x 2 ends = 60 in 3 s (it did, before idle pairs held back).
    const before = exchanges(nodes)
    await new Promise(resolve => setTimeout(resolve, 10 * INTERVAL_MS))
    const idle = exchanges(nodes) - before
    assert.ok(idle <= 12, `${idle} exchanges (counted at both ends) in 10 idle rounds of 3 pairs; every round of every pair: about 60`)

    // cat ignores the group's gossip for a moment: a message sent meanwhile reaches ann and
    // ben only, and no connection drops (so no reconnection sync either).
    const topic = topicOf(groupId)
    const validators = c.host.services.pubsub.topicValidators
    const original = validators.get(topic)
    assert.ok(original != null, 'the node validates its group topic')
    validators.set(topic, () => TopicValidatorResult.Ignore)
    const missed = await b.send(groupId, 'cat misses this one by gossip')
    await waitFor('ann to hold it', () => a.history(groupId).some(m => m.id === missed.id))
    validators.set(topic, original)
    assert.ok(!c.history(groupId).some(m => m.id === missed.id), 'cat got it by gossip after all: the test proves nothing')

    await waitFor('cat to hold it, by anti-entropy', () => c.history(groupId).some(m => m.id === missed.id), 15_000)
    const orders = nodes.map(n => n.history(groupId).map(m => m.id))
    for (const order of orders) assert.deepEqual(order, orders[0])
  })
})
